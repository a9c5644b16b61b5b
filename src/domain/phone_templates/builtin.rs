//! Built-in phone message bodies (Liquid) per notification type, channel and locale. English
//! `otp_verify`, `otp_enroll` and `blocked_account` are Auth0's recorded defaults, byte for
//! byte (their missing final full stops included), because `GET /branding/phone/templates`
//! shows them and the Deploy CLI diffs against them. `change_password` keeps Auth0's code
//! wording and adds callsign's reset `link` (callsign sends a link, not a code);
//! `password_breach` has no recorded default, so its wording is ours. Other locales are
//! translations of the same texts. Only data lives here: lookup and fallback are in the parent.

use super::Kind;

/// Locales with built-in bodies. `en` is the last resort of every fallback chain.
pub const LOCALES: &[&str] = &["en", "fr", "es", "de"];

/// (text, voice) for a kind in exactly this locale (no fallback).
pub fn body(kind: Kind, locale: &str) -> Option<(&'static str, &'static str)> {
    Some(match (locale, kind) {
        ("en", Kind::OtpVerify) => (EN_OTP_VERIFY, EN_OTP_VOICE),
        ("en", Kind::OtpEnroll) => (EN_OTP_ENROLL, EN_OTP_VOICE),
        ("en", Kind::ChangePassword) => (EN_CHANGE_PASSWORD, EN_CHANGE_PASSWORD_VOICE),
        ("en", Kind::BlockedAccount) => (EN_BLOCKED, EN_BLOCKED),
        ("en", Kind::PasswordBreach) => (EN_BREACH, EN_BREACH_VOICE),
        ("fr", Kind::OtpVerify) => (FR_OTP_VERIFY, FR_OTP_VOICE),
        ("fr", Kind::OtpEnroll) => (FR_OTP_ENROLL, FR_OTP_VOICE),
        ("fr", Kind::ChangePassword) => (FR_CHANGE_PASSWORD, FR_CHANGE_PASSWORD_VOICE),
        ("fr", Kind::BlockedAccount) => (FR_BLOCKED, FR_BLOCKED),
        ("fr", Kind::PasswordBreach) => (FR_BREACH, FR_BREACH_VOICE),
        ("es", Kind::OtpVerify) => (ES_OTP_VERIFY, ES_OTP_VOICE),
        ("es", Kind::OtpEnroll) => (ES_OTP_ENROLL, ES_OTP_VOICE),
        ("es", Kind::ChangePassword) => (ES_CHANGE_PASSWORD, ES_CHANGE_PASSWORD_VOICE),
        ("es", Kind::BlockedAccount) => (ES_BLOCKED, ES_BLOCKED),
        ("es", Kind::PasswordBreach) => (ES_BREACH, ES_BREACH_VOICE),
        ("de", Kind::OtpVerify) => (DE_OTP_VERIFY, DE_OTP_VOICE),
        ("de", Kind::OtpEnroll) => (DE_OTP_ENROLL, DE_OTP_VOICE),
        ("de", Kind::ChangePassword) => (DE_CHANGE_PASSWORD, DE_CHANGE_PASSWORD_VOICE),
        ("de", Kind::BlockedAccount) => (DE_BLOCKED, DE_BLOCKED),
        ("de", Kind::PasswordBreach) => (DE_BREACH, DE_BREACH_VOICE),
        _ => return None,
    })
}

// English: Auth0's recorded defaults (otp_*, blocked_account; change_password's code branch).
const EN_OTP_VERIFY: &str =
    "{{ code | escape }} is your verification code for {{ friendly_name | escape }}";
const EN_OTP_ENROLL: &str = "{{ code | escape }} is your verification code for {{ friendly_name | escape }}. Please enter this code to verify your enrollment.";
const EN_OTP_VOICE: &str = "Hello. Your verification code for {{ friendly_name | escape }} is {{ pause }} {{ code | escape }}. I repeat, your verification code is {{ pause }} {{ code | escape }}";
const EN_CHANGE_PASSWORD: &str = "{% if link %}Reset your {{ friendly_name | escape }} password: {{ link }}{% else %}{{ code | escape }} is your password change code for {{ friendly_name | escape }}{% endif %}";
const EN_CHANGE_PASSWORD_VOICE: &str = "{% if code %}Hello. Your password change code for {{ friendly_name | escape }} is {{ pause }} {{ code | escape }}. I repeat, your password change code is {{ pause }} {{ code | escape }}{% else %}Hello. We sent you a link to reset your {{ friendly_name | escape }} password. Please check your messages.{% endif %}";
const EN_BLOCKED: &str = "We detected suspicious activity on your account from the ip {{user.source_ip}}{% if user.city %} from {{user.city}}, {{user.country}}{% elsif user.country %} from {{user.country}}{% endif %}. Logins from this IP have been blocked on your account. If this is your IP, please reset your password to unblock your account. Otherwise, disregard this message.";
const EN_BREACH: &str = "{{ friendly_name | escape }}: your password appeared in a data breach on another site. To protect your account, please reset your password{% if link %}: {{ link }}{% else %}.{% endif %}";
const EN_BREACH_VOICE: &str = "Hello. This is {{ friendly_name | escape }}. Your password appeared in a data breach on another site. To protect your account, please reset your password.";

const FR_OTP_VERIFY: &str =
    "{{ code | escape }} est votre code de vérification pour {{ friendly_name | escape }}";
const FR_OTP_ENROLL: &str = "{{ code | escape }} est votre code de vérification pour {{ friendly_name | escape }}. Saisissez ce code pour confirmer votre inscription.";
const FR_OTP_VOICE: &str = "Bonjour. Votre code de vérification pour {{ friendly_name | escape }} est {{ pause }} {{ code | escape }}. Je répète, votre code de vérification est {{ pause }} {{ code | escape }}";
const FR_CHANGE_PASSWORD: &str = "{% if link %}Réinitialisez votre mot de passe {{ friendly_name | escape }} : {{ link }}{% else %}{{ code | escape }} est votre code de changement de mot de passe pour {{ friendly_name | escape }}{% endif %}";
const FR_CHANGE_PASSWORD_VOICE: &str = "{% if code %}Bonjour. Votre code de changement de mot de passe pour {{ friendly_name | escape }} est {{ pause }} {{ code | escape }}. Je répète, votre code de changement de mot de passe est {{ pause }} {{ code | escape }}{% else %}Bonjour. Nous vous avons envoyé un lien pour réinitialiser votre mot de passe {{ friendly_name | escape }}. Consultez vos messages.{% endif %}";
const FR_BLOCKED: &str = "Nous avons détecté une activité suspecte sur votre compte depuis l'adresse IP {{user.source_ip}}{% if user.city %} à {{user.city}}, {{user.country}}{% elsif user.country %} depuis {{user.country}}{% endif %}. Les connexions depuis cette adresse IP ont été bloquées sur votre compte. S'il s'agit de votre adresse IP, réinitialisez votre mot de passe pour débloquer votre compte. Sinon, ignorez ce message.";
const FR_BREACH: &str = "{{ friendly_name | escape }} : votre mot de passe figure dans une fuite de données d'un autre site. Pour protéger votre compte, réinitialisez votre mot de passe{% if link %} : {{ link }}{% else %}.{% endif %}";
const FR_BREACH_VOICE: &str = "Bonjour. Ici {{ friendly_name | escape }}. Votre mot de passe figure dans une fuite de données d'un autre site. Pour protéger votre compte, veuillez réinitialiser votre mot de passe.";

const ES_OTP_VERIFY: &str =
    "{{ code | escape }} es tu código de verificación para {{ friendly_name | escape }}";
const ES_OTP_ENROLL: &str = "{{ code | escape }} es tu código de verificación para {{ friendly_name | escape }}. Introduce este código para confirmar tu inscripción.";
const ES_OTP_VOICE: &str = "Hola. Tu código de verificación para {{ friendly_name | escape }} es {{ pause }} {{ code | escape }}. Repito, tu código de verificación es {{ pause }} {{ code | escape }}";
const ES_CHANGE_PASSWORD: &str = "{% if link %}Restablece tu contraseña de {{ friendly_name | escape }}: {{ link }}{% else %}{{ code | escape }} es tu código para cambiar la contraseña de {{ friendly_name | escape }}{% endif %}";
const ES_CHANGE_PASSWORD_VOICE: &str = "{% if code %}Hola. Tu código para cambiar la contraseña de {{ friendly_name | escape }} es {{ pause }} {{ code | escape }}. Repito, tu código es {{ pause }} {{ code | escape }}{% else %}Hola. Te enviamos un enlace para restablecer tu contraseña de {{ friendly_name | escape }}. Revisa tus mensajes.{% endif %}";
const ES_BLOCKED: &str = "Detectamos actividad sospechosa en tu cuenta desde la IP {{user.source_ip}}{% if user.city %} en {{user.city}}, {{user.country}}{% elsif user.country %} en {{user.country}}{% endif %}. Se bloquearon los inicios de sesión desde esta IP en tu cuenta. Si esta es tu IP, restablece tu contraseña para desbloquear tu cuenta. De lo contrario, ignora este mensaje.";
const ES_BREACH: &str = "{{ friendly_name | escape }}: tu contraseña apareció en una filtración de datos de otro sitio. Para proteger tu cuenta, restablece tu contraseña{% if link %}: {{ link }}{% else %}.{% endif %}";
const ES_BREACH_VOICE: &str = "Hola. Te llamamos de {{ friendly_name | escape }}. Tu contraseña apareció en una filtración de datos de otro sitio. Para proteger tu cuenta, restablece tu contraseña.";

const DE_OTP_VERIFY: &str =
    "{{ code | escape }} ist Ihr Bestätigungscode für {{ friendly_name | escape }}";
const DE_OTP_ENROLL: &str = "{{ code | escape }} ist Ihr Bestätigungscode für {{ friendly_name | escape }}. Geben Sie diesen Code ein, um Ihre Registrierung zu bestätigen.";
const DE_OTP_VOICE: &str = "Hallo. Ihr Bestätigungscode für {{ friendly_name | escape }} lautet {{ pause }} {{ code | escape }}. Ich wiederhole, Ihr Bestätigungscode lautet {{ pause }} {{ code | escape }}";
const DE_CHANGE_PASSWORD: &str = "{% if link %}Setzen Sie Ihr Passwort für {{ friendly_name | escape }} zurück: {{ link }}{% else %}{{ code | escape }} ist Ihr Code zum Ändern des Passworts für {{ friendly_name | escape }}{% endif %}";
const DE_CHANGE_PASSWORD_VOICE: &str = "{% if code %}Hallo. Ihr Code zum Ändern des Passworts für {{ friendly_name | escape }} lautet {{ pause }} {{ code | escape }}. Ich wiederhole, Ihr Code lautet {{ pause }} {{ code | escape }}{% else %}Hallo. Wir haben Ihnen einen Link zum Zurücksetzen Ihres Passworts für {{ friendly_name | escape }} gesendet. Bitte prüfen Sie Ihre Nachrichten.{% endif %}";
const DE_BLOCKED: &str = "Wir haben verdächtige Aktivitäten in Ihrem Konto von der IP-Adresse {{user.source_ip}}{% if user.city %} aus {{user.city}}, {{user.country}}{% elsif user.country %} aus {{user.country}}{% endif %} festgestellt. Anmeldungen von dieser IP-Adresse wurden für Ihr Konto gesperrt. Wenn dies Ihre IP-Adresse ist, setzen Sie Ihr Passwort zurück, um Ihr Konto zu entsperren. Andernfalls ignorieren Sie diese Nachricht.";
const DE_BREACH: &str = "{{ friendly_name | escape }}: Ihr Passwort ist in einem Datenleck einer anderen Website aufgetaucht. Bitte setzen Sie zum Schutz Ihres Kontos Ihr Passwort zurück{% if link %}: {{ link }}{% else %}.{% endif %}";
const DE_BREACH_VOICE: &str = "Hallo. Hier ist {{ friendly_name | escape }}. Ihr Passwort ist in einem Datenleck einer anderen Website aufgetaucht. Bitte setzen Sie zum Schutz Ihres Kontos Ihr Passwort zurück.";

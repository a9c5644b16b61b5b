#!/usr/bin/env python3
"""Phone-number corpus from Google's data, for tests/it/phone.rs.

Writes a TSV (no header) of `input<TAB>region-or-empty<TAB>expected`, where expected is the
E.164 form callsign must produce, or `invalid`. Every example number of every region and
non-geographic code (each number type that has one) is spelled as E.164, international,
national (with its region), `00` + international, dialled from another region with that
region's own international prefix (011, 8~10, 0011, ...), and a `tel:` URI; then broken on
purpose (truncated, letters, wrong country code). Expected values come from the Python port of
libphonenumber (parse, then is_valid_number), except where callsign's policy deliberately
differs (letters are refused: Google would read them as vanity digits).

Versions: rlibphonenumber 2.2.15 (Cargo.lock) embeds libphonenumber metadata v9.0.42
(its Readme: "Used metadata version: v9.0.42"); `phonenumbers==9.0.42` (pinned in
compat/python/requirements.txt) ships the same metadata. Bump both together.

Usage: phone_corpus.py OUT.tsv [--sample]   (--sample: ~100 lines for tests/it/data/)
"""

import random
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

PINNED = "9.0.42"

TYPES = [
    T.FIXED_LINE,
    T.MOBILE,
    T.TOLL_FREE,
    T.PREMIUM_RATE,
    T.SHARED_COST,
    T.VOIP,
    T.PERSONAL_NUMBER,
    T.PAGER,
    T.UAN,
    T.VOICEMAIL,
]

# Regions to dial from with their own international prefix (US 011, RU 8~10, AU 0011,
# JP 010, BR 00xx carrier-less, GB 00, ...). Rotated across numbers.
CALLING_FROM = ["US", "RU", "AU", "JP", "GB", "KZ", "BY", "LT", "CA", "SG", "HK", "IL"]

# Digits, plus and hyphen as typed on a CJK keyboard (U+FF10.., U+FF0B, U+FF0D).
FULL_WIDTH = str.maketrans({**{str(d): chr(0xFF10 + d) for d in range(10)}, "+": "\uff0b", "-": "\uff0d"})

# Numbers the `phonenumber` crate mangles (+78001234567 -> +7001234567) and their kin:
# RU/KZ toll-free and 8-prefixed national spellings, BY/LT 8 trunk prefix, RW toll-free.
EXPLICIT = [
    ("+78001234567", ""),
    ("+7 800 123-45-67", ""),
    ("8 800 123-45-67", "RU"),
    ("8 (800) 123-45-67", "KZ"),
    ("88001234567", "RU"),
    ("+7 800 555 35 35", ""),
    ("8 912 345-67-89", "RU"),
    ("+7 701 234 5678", ""),
    ("8 701 234 5678", "KZ"),
    ("8 7172 58 77 17", "KZ"),
    ("+375 800 123 45 67", ""),
    ("8 800 123 45 67", "BY"),
    ("+375 17 123-45-67", ""),
    ("8 017 123-45-67", "BY"),
    ("8 029 123-45-67", "BY"),
    ("+370 800 12345", ""),
    ("8 800 12345", "LT"),
    ("+370 612 34567", ""),
    ("8 612 34567", "LT"),
    ("+250 800 123 456", ""),
    ("+250 720 123 456", ""),
    ("0720 123 456", "RW"),
    ("+250 250 123 456", ""),
]


def google(text, region):
    """Google's answer: the E.164 form of a valid number, else `invalid`."""
    try:
        n = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(n):
        return "invalid"
    return phonenumbers.format_number(n, F.E164)


def expected(text, region):
    """Google's answer under callsign's reading of `00` (src/domain/phone.rs): the region's
    own rules first, and failing those `00` is the international prefix."""
    if text.startswith("00"):
        want = google(text, region) if region else "invalid"
        if want == "invalid":
            want = google("+" + phonenumbers.normalize_digits_only(text)[2:], "")
        return want
    return google(text, region)


def unassigned_codes():
    """Three-digit country codes that are unassigned, and so are their one- and two-digit
    prefixes: `+CODE…` cannot be re-read as another country's number."""
    def free(cc):
        return phonenumbers.region_code_for_country_code(cc) == "ZZ" and (
            cc not in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
        )
    return [cc for cc in range(100, 1000) if free(cc) and free(cc // 10) and free(cc // 100)]


def examples():
    """(region-or-empty, number) for every example number, deduplicated per region."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        seen = set()
        for t in TYPES:
            n = phonenumbers.example_number_for_type(region, t)
            if n is None:
                continue
            e = phonenumbers.format_number(n, F.E164)
            if e in seen or not phonenumbers.is_valid_number(n):
                continue
            seen.add(e)
            yield region, n
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        n = phonenumbers.example_number_for_non_geo_entity(cc)
        if n is not None and phonenumbers.is_valid_number(n):
            yield "", n


def cases():
    bad_codes = unassigned_codes()
    mismatched = []
    for i, (region, n) in enumerate(examples()):
        e164 = phonenumbers.format_number(n, F.E164)
        intl = phonenumbers.format_number(n, F.INTERNATIONAL)
        rows = [
            (e164, ""),
            (intl, ""),
            (intl.replace("+", "00", 1), ""),
            (phonenumbers.format_number(n, F.RFC3966), ""),
            (phonenumbers.format_number(n, F.RFC3966) + ";ext=" + str(100 + i % 900), ""),
            (intl.replace(" ", "\u00a0"), ""),
            (intl.translate(FULL_WIDTH), ""),
        ]
        if region:
            rows.append((phonenumbers.format_number(n, F.NATIONAL), region))
            rows.append((intl.replace("+", "00", 1), region))
        frm = CALLING_FROM[i % len(CALLING_FROM)]
        rows.append((phonenumbers.format_out_of_country_calling_number(n, frm), frm))
        for text, reg in rows:
            want = expected(text, reg)
            if want != e164:
                mismatched.append((text, reg, want, e164))
            yield text, reg, want
        # Deliberately broken spellings.
        truncated = e164[:-3]
        yield truncated, "", expected(truncated, "")
        yield e164[:5] + "A" + e164[5:], "", "invalid"
        yield intl + " ext", "", "invalid"
        cc = str(n.country_code)
        wrong = "+" + str(bad_codes[i % len(bad_codes)]) + e164[1 + len(cc):]
        yield wrong, "", expected(wrong, "")
        if region:
            yield phonenumbers.format_number(n, F.NATIONAL), "", "invalid"
    for text, reg in EXPLICIT:
        yield text, reg, expected(text, reg)
    if mismatched:
        sys.stderr.write(f"note: {len(mismatched)} well-formed spellings Google reads as another number\n")
        for m in mismatched[:20]:
            sys.stderr.write(f"    {m!r}\n")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sample = "--sample" in sys.argv[1:]
    if len(args) != 1:
        sys.exit("usage: phone_corpus.py OUT.tsv [--sample]")
    if phonenumbers.__version__ != PINNED:
        sys.exit(f"phonenumbers {phonenumbers.__version__} installed, {PINNED} expected (see header)")
    rows = list(dict.fromkeys(cases()))
    for text, reg, _ in rows:
        if "\t" in text or "\n" in text:
            sys.exit(f"unusable input {text!r}")
    if sample:
        explicit = rows[-len(EXPLICIT):]
        rest = rows[: -len(EXPLICIT)]
        rows = sorted(random.Random(42).sample(rest, 100 - len(explicit)), key=rest.index) + explicit
    with open(args[0], "w", encoding="utf-8") as out:
        for text, reg, want in rows:
            out.write(f"{text}\t{reg}\t{want}\n")
    sys.stderr.write(f"wrote {len(rows)} cases to {args[0]}\n")


if __name__ == "__main__":
    main()

//! Finds the variables a Liquid template reads, with their line numbers, so a template can be
//! refused at save time when it names a variable Auth0 does not provide. The `liquid` crate
//! parses and renders but exposes no syntax tree to walk, so this reads the markup (`{{ }}`,
//! `{% %}`) of a template that `liquid` has ALREADY parsed successfully: it never decides what
//! is valid Liquid, only which names are read. Names a template defines itself (`assign`,
//! `capture`, `for`/`tablerow` loop variables, `increment`/`decrement` counters), filter names,
//! named filter arguments, tag names and Liquid keywords are not references. `raw` and
//! `comment` blocks are skipped. No rendering here.

/// A variable read by a template: its path (`user.city` → `["user", "city"]`, stopping at a
/// computed index such as `a[b]`) and the 1-based line of the markup that reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: Vec<String>,
    pub line: usize,
}

pub(super) struct Segment<'a> {
    pub(super) text: &'a str,
    pub(super) line: usize,
    pub(super) tag: bool,
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "contains", "in", "true", "false", "nil", "null", "empty", "blank",
    "reversed", "with", "as", "by", "limit", "offset", "cols",
];

/// Tags whose first argument names a variable the template defines.
const DEFINING_TAGS: &[&str] = &[
    "assign",
    "capture",
    "for",
    "tablerow",
    "increment",
    "decrement",
];

/// Loop objects Liquid provides inside `for` / `tablerow`.
const LOOP_OBJECTS: &[&str] = &["forloop", "tablerowloop"];

fn first_word(s: &str) -> &str {
    s.split(|c: char| c.is_whitespace()).next().unwrap_or("")
}

/// The markup segments of `src` (their inner text, trimmed of whitespace control), without
/// the contents of `raw` and `comment` blocks.
fn segments(src: &str) -> Vec<Segment<'_>> {
    segments_checked(src).0
}

/// The segments, or `None` when some markup is left unclosed (the scan stopped there), for
/// checks that must see every tag (`bounds::check_loops`).
pub(super) fn complete_segments(src: &str) -> Option<Vec<Segment<'_>>> {
    let (segs, complete) = segments_checked(src);
    complete.then_some(segs)
}

fn segments_checked(src: &str) -> (Vec<Segment<'_>>, bool) {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut skip_until: Option<&str> = None;
    let mut line = 1;
    let mut counted = 0;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'{' || (b[i + 1] != b'{' && b[i + 1] != b'%') {
            i += 1;
            continue;
        }
        let tag = b[i + 1] == b'%';
        let close = if tag { b'%' } else { b'}' };
        let start = i + 2;
        let mut j = start;
        let mut quote: Option<u8> = None;
        let mut end = None;
        while j + 1 < b.len() {
            let c = b[j];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'\'' || c == b'"' => quote = Some(c),
                None if c == close && b[j + 1] == b'}' => {
                    end = Some(j);
                    break;
                }
                None => {}
            }
            j += 1;
        }
        let Some(end) = end else {
            return (out, false);
        };
        // All delimiters are ASCII, so these byte offsets are character boundaries.
        line += src[counted..i].matches('\n').count();
        counted = i;
        let inner = src[start..end].trim_matches('-').trim();
        let name = first_word(inner);
        match skip_until {
            Some(stop) => {
                if tag && name == stop {
                    skip_until = None;
                }
            }
            None if tag && name == "raw" => skip_until = Some("endraw"),
            None if tag && name == "comment" => skip_until = Some("endcomment"),
            None if tag && name.starts_with('#') => {}
            None => out.push(Segment {
                text: inner,
                line,
                tag,
            }),
        }
        i = end + 2;
    }
    (out, true)
}

enum Tok {
    Path(Vec<String>),
    Pipe,
    Colon,
    Dot,
    Other,
}

fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'?'
}

/// Splits one segment into paths and the punctuation that gives them meaning.
fn tokens(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' || c == b'"' {
            i += 1;
            while i < b.len() && b[i] != c {
                i += 1;
            }
            i += 1;
            out.push(Tok::Other);
        } else if c.is_ascii_digit() {
            // a number, possibly `1.5`; `1..n` leaves the dots as punctuation
            i += 1;
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || (b[i] == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()))
            {
                i += 1;
            }
            out.push(Tok::Other);
        } else if ident_start(c) {
            let mut path = Vec::new();
            let mut seg_start = i;
            loop {
                while i < b.len() && ident_char(b[i]) {
                    i += 1;
                }
                path.push(s[seg_start..i].to_string());
                if i + 1 < b.len() && b[i] == b'.' && ident_start(b[i + 1]) {
                    i += 1;
                    seg_start = i;
                    continue;
                }
                // `a["b"]` / `a['b']`: a literal index is part of the path
                if i + 2 < b.len() && b[i] == b'[' && (b[i + 1] == b'"' || b[i + 1] == b'\'') {
                    let q = b[i + 1];
                    if let Some(rel) = s[i + 2..].find(q as char) {
                        let close = i + 2 + rel;
                        if b.get(close + 1) == Some(&b']') {
                            path.push(s[i + 2..close].to_string());
                            i = close + 2;
                            if i + 1 < b.len() && b[i] == b'.' && ident_start(b[i + 1]) {
                                i += 1;
                                seg_start = i;
                                continue;
                            }
                        }
                    }
                }
                break;
            }
            out.push(Tok::Path(path));
        } else {
            out.push(match c {
                b'|' => Tok::Pipe,
                b':' => Tok::Colon,
                b'.' => Tok::Dot,
                _ => Tok::Other,
            });
            i += 1;
        }
    }
    out
}

/// Every variable `src` reads that it does not define itself, in order of appearance.
pub fn references(src: &str) -> Vec<Reference> {
    let segs = segments(src);
    // Liquid variables defined anywhere are visible after their definition; a template that
    // reads one before defining it renders nothing there, which is not our concern.
    let mut locals: Vec<String> = LOOP_OBJECTS.iter().map(|s| s.to_string()).collect();
    for s in segs.iter().filter(|s| s.tag) {
        let mut words = s.text.split_whitespace();
        if let (Some(tag), Some(name)) = (words.next(), words.next())
            && DEFINING_TAGS.contains(&tag)
        {
            let name = name.split(['=', '.']).next().unwrap_or(name);
            locals.push(name.to_string());
        }
    }
    let mut out = Vec::new();
    for s in &segs {
        let toks = tokens(s.text);
        for (n, t) in toks.iter().enumerate() {
            let Tok::Path(path) = t else { continue };
            // the tag name itself, and a defining tag's variable
            if s.tag && (n == 0 || (n == 1 && DEFINING_TAGS.contains(&first_word(s.text)))) {
                continue;
            }
            let after_pipe = n > 0 && matches!(toks[n - 1], Tok::Pipe);
            let named_arg = matches!(toks.get(n + 1), Some(Tok::Colon));
            // `a[b].c`: `c` is a property, not a variable (but `(1..n)` reads `n`)
            let property = n > 0
                && matches!(toks[n - 1], Tok::Dot)
                && !(n > 1 && matches!(toks[n - 2], Tok::Dot));
            if after_pipe || named_arg || property {
                continue;
            }
            if path.len() == 1 && KEYWORDS.contains(&path[0].as_str()) {
                continue;
            }
            if locals.contains(&path[0]) {
                continue;
            }
            out.push(Reference {
                path: path.clone(),
                line: s.line,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(src: &str) -> Vec<String> {
        references(src)
            .into_iter()
            .map(|r| r.path.join("."))
            .collect()
    }

    #[test]
    fn finds_outputs_conditions_and_filter_arguments() {
        assert_eq!(
            paths("{{ code | escape }} for {{ friendly_name | append: user.name }}"),
            ["code", "friendly_name", "user.name"]
        );
        assert_eq!(
            paths("{% if user.city %} from {{user.city}}{% elsif user.country %}x{% endif %}"),
            ["user.city", "user.city", "user.country"]
        );
        assert_eq!(
            paths("{{ user.user_metadata['lang'] }} {{ a[b].c }}"),
            ["user.user_metadata.lang", "a", "b"]
        );
    }

    #[test]
    fn skips_locals_keywords_strings_raw_and_comments() {
        let src = "{% assign n = user.name | upcase %}{{ n }}{% for x in user.multifactor %}{{ x }}{{ forloop.index }}{% endfor %}\
                   {% if code == 'a b' and true %}{% endif %}{% raw %}{{ nope }}{% endraw %}{% comment %}{{ nope }}{% endcomment %}\
                   {{ 'x' | default: 'y' }}{% capture c %}{{ tenant }}{% endcapture %}{{ c }}";
        assert_eq!(
            paths(src),
            ["user.name", "user.multifactor", "code", "tenant"]
        );
    }

    #[test]
    fn ranges_read_their_bounds() {
        assert_eq!(
            paths("{% for i in (1..user.login_count) %}{{ i }}{% endfor %}"),
            ["user.login_count"]
        );
    }

    #[test]
    fn reports_lines() {
        let r = references("a\nb {{ x }}\n\n{% if y %}{% endif %}");
        assert_eq!(r[0].line, 2);
        assert_eq!(r[1].line, 4);
    }
}

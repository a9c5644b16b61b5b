//! Render bounds for phone templates (issue 12, M6). The `liquid` crate has no step limit: a
//! `{% for i in (1..100000000) %}` builds a hundred-million-element array before its first
//! iteration, nested loops multiply, and `append`/`replace`/`capture` can double a string on
//! every line without any loop. So every template is bounded by construction, in two layers:
//!
//! - **Static, at parse** ([`check_loops`], run by the renderer whenever it parses a body, so
//!   rows saved before these rules are held to them too): a `for`/`tablerow` range must have
//!   integer-literal bounds; loops nest at most [`MAX_LOOP_DEPTH`] deep; and the iterations of
//!   all loops together, each counted as the product of its own size and its enclosing loops'
//!   sizes, stay within [`MAX_ITERATIONS`]. A loop over a collection counts as [`MAX_ITEMS`]
//!   (or its literal `limit:`), which the dynamic layer guarantees.
//! - **Dynamic, while rendering** ([`metered`], the [`Capped`] sink, the wrapped filters and
//!   `capture`): output stops at [`MAX_OUTPUT_BYTES`] (the sink refuses the write that would
//!   pass it, so memory never grows past the cap); every filter result and every capture is
//!   at most [`MAX_VALUE_BYTES`] and [`MAX_ITEMS`] members; a render may evaluate at most
//!   [`MAX_STEPS`] filters and captures. The variables handed in are checked too
//!   ([`oversized_variables`]).
//!
//! The service adds the third line: every render runs on the blocking pool, a few at a time,
//! under a timeout. Pure otherwise: no I/O, no clock.

use super::scan;
use liquid_core::model::{KString, Value as LValue, ValueView};
use liquid_core::{
    BlockReflection, Filter, FilterReflection, Language, ParseBlock, ParseFilter, Renderable,
    Runtime, TagBlock, TagTokenIter, Template,
};
use std::cell::Cell;
use std::fmt;
use std::io::{self, Write};

/// Longest rendered message, in bytes. Twilio takes at most 1,600 characters in an SMS body
/// and 4,096 in a voice `<Say>`; no phone message needs more.
pub const MAX_OUTPUT_BYTES: usize = 4096;
/// Longest value a filter or a `capture` may produce (no intermediate value needs to be
/// longer than the message it ends up in).
pub const MAX_VALUE_BYTES: usize = MAX_OUTPUT_BYTES;
/// Most members of an array or object a filter may produce or a variable may hold: a loop
/// over a collection therefore runs at most this many times.
pub const MAX_ITEMS: usize = 256;
/// Loop iterations a template may plan, all loops together (nested loops multiply).
pub const MAX_ITERATIONS: u64 = 1000;
/// Loops inside loops inside loops, and no deeper.
pub const MAX_LOOP_DEPTH: usize = 3;
/// Filter evaluations and captures one render may perform.
pub const MAX_STEPS: u32 = 10_000;

thread_local! {
    /// Steps left in the render running on this thread (`None`: not inside [`metered`]).
    static STEPS: Cell<Option<u32>> = const { Cell::new(None) };
    /// The first bound the render running on this thread crossed.
    static TRIPPED: Cell<Option<&'static str>> = const { Cell::new(None) };
}

const STEPS_EXCEEDED: &str = "needs more than 10000 filter steps to render";
const VALUE_TOO_LONG: &str = "computes a value longer than 4096 bytes";
const TOO_MANY_ITEMS: &str = "computes a list of more than 256 items";

/// Runs one render with a fresh step budget on this thread; returns its result and the bound
/// it crossed, if any (liquid wraps our errors in its own, so the reason travels here).
pub fn metered<T>(f: impl FnOnce() -> T) -> (T, Option<&'static str>) {
    let prev = STEPS.replace(Some(MAX_STEPS));
    TRIPPED.set(None);
    let out = f();
    STEPS.set(prev);
    (out, TRIPPED.take())
}

fn trip(reason: &'static str) -> liquid_core::Error {
    TRIPPED.with(|t| {
        if t.get().is_none() {
            t.set(Some(reason));
        }
    });
    liquid_core::Error::with_msg(reason)
}

fn step() -> liquid_core::Result<()> {
    match STEPS.get() {
        Some(0) => Err(trip(STEPS_EXCEEDED)),
        Some(n) => {
            STEPS.set(Some(n - 1));
            Ok(())
        }
        None => Ok(()),
    }
}

/// Why `v` is too big for an intermediate value, counting no further than the caps.
fn oversized(v: &dyn ValueView) -> Option<&'static str> {
    fn walk(v: &dyn ValueView, bytes: &mut usize) -> Option<&'static str> {
        if let Some(a) = v.as_array() {
            if a.size() > MAX_ITEMS as i64 {
                return Some(TOO_MANY_ITEMS);
            }
            for x in a.values() {
                walk(x, bytes)?;
            }
        } else if let Some(o) = v.as_object() {
            if o.size() > MAX_ITEMS as i64 {
                return Some(TOO_MANY_ITEMS);
            }
            for (k, x) in o.iter() {
                *bytes += k.len();
                walk(x, bytes)?;
            }
        } else if v.is_scalar() {
            *bytes += v.to_kstr().len();
        }
        (*bytes > MAX_VALUE_BYTES).then_some(VALUE_TOO_LONG)
    }
    let mut bytes = 0;
    walk(v, &mut bytes)
}

/// Why the variables handed to a render are too big, if they are: an array or object with
/// more than [`MAX_ITEMS`] members (a loop over it would run longer than the static count
/// assumes), or a string longer than [`MAX_VALUE_BYTES`] (it could not appear in a message
/// whole, and a filter such as `replace` multiplies its input's length by its argument's
/// before any result can be checked).
pub fn oversized_variables(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as J;
    match v {
        J::Array(a) if a.len() > MAX_ITEMS => Some(format!(
            "a list or object holds more than {MAX_ITEMS} members"
        )),
        J::Object(m) if m.len() > MAX_ITEMS => Some(format!(
            "a list or object holds more than {MAX_ITEMS} members"
        )),
        J::Array(a) => a.iter().find_map(oversized_variables),
        J::Object(m) => m.values().find_map(oversized_variables),
        J::String(s) if s.len() > MAX_VALUE_BYTES => {
            Some(format!("a value is longer than {MAX_VALUE_BYTES} bytes"))
        }
        _ => None,
    }
}

/// An output sink that refuses the write that would take it past its cap, so a render
/// never holds more than `cap` bytes; `over` tells the refusal apart from other failures.
pub struct Capped {
    pub buf: Vec<u8>,
    cap: usize,
    pub over: bool,
}

impl Capped {
    pub fn new(cap: usize) -> Capped {
        Capped {
            buf: Vec::new(),
            cap,
            over: false,
        }
    }
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.buf.len() + b.len() > self.cap {
            self.over = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A standard filter whose every evaluation takes a step and whose result is size-checked.
#[derive(Clone)]
struct BoundedParse(Box<dyn ParseFilter>);

impl ParseFilter for BoundedParse {
    fn parse(
        &self,
        args: liquid_core::parser::FilterArguments,
    ) -> liquid_core::Result<Box<dyn Filter>> {
        Ok(Box::new(BoundedFilter(self.0.parse(args)?)))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self.0.reflection()
    }
}

#[derive(Debug)]
struct BoundedFilter(Box<dyn Filter>);

impl fmt::Display for BoundedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Filter for BoundedFilter {
    fn evaluate(
        &self,
        input: &dyn ValueView,
        runtime: &dyn Runtime,
    ) -> liquid_core::Result<LValue> {
        step()?;
        let v = self.0.evaluate(input, runtime)?;
        match oversized(&v) {
            Some(reason) => Err(trip(reason)),
            None => Ok(v),
        }
    }
}

/// `{% capture name %}…{% endcapture %}` rendered into a [`Capped`] sink (the standard block
/// renders into an unbounded buffer: `{% capture a %}{{a}}{{a}}{% endcapture %}` doubles).
#[derive(Clone, Copy, Debug)]
struct CaptureBlock;

impl BlockReflection for CaptureBlock {
    fn start_tag(&self) -> &str {
        "capture"
    }
    fn end_tag(&self) -> &str {
        "endcapture"
    }
    fn description(&self) -> &str {
        "capture, bounded"
    }
}

impl ParseBlock for CaptureBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> liquid_core::Result<Box<dyn Renderable>> {
        let id: KString = arguments
            .expect_next("Identifier expected")?
            .expect_identifier()
            .into_result()?
            .to_owned()
            .into();
        arguments.expect_nothing()?;
        let template = Template::new(tokens.parse_all(options)?);
        tokens.assert_empty();
        Ok(Box::new(Capture { id, template }))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Debug)]
struct Capture {
    id: KString,
    template: Template,
}

impl Renderable for Capture {
    fn render_to(&self, _writer: &mut dyn Write, runtime: &dyn Runtime) -> liquid_core::Result<()> {
        step()?;
        let mut sink = Capped::new(MAX_VALUE_BYTES);
        let r = self.template.render_to(&mut sink, runtime);
        if sink.over {
            return Err(trip(VALUE_TOO_LONG));
        }
        r?;
        let s = String::from_utf8(sink.buf)
            .map_err(|_| liquid_core::Error::with_msg("capture is not UTF-8"))?;
        runtime.set_global(self.id.clone(), LValue::scalar(s));
        Ok(())
    }
}

/// The standard Liquid parser with every standard filter and `capture` bounded.
pub fn parser() -> liquid::Parser {
    use liquid_lib::stdlib as s;
    let filters: Vec<Box<dyn ParseFilter>> = vec![
        Box::new(s::Abs),
        Box::new(s::Append),
        Box::new(s::AtLeast),
        Box::new(s::AtMost),
        Box::new(s::Capitalize),
        Box::new(s::Ceil),
        Box::new(s::Compact),
        Box::new(s::Concat),
        Box::new(s::Date),
        Box::new(s::Default),
        Box::new(s::DividedBy),
        Box::new(s::Downcase),
        Box::new(s::Escape),
        Box::new(s::EscapeOnce),
        Box::new(s::First),
        Box::new(s::Floor),
        Box::new(s::Join),
        Box::new(s::Last),
        Box::new(s::Lstrip),
        Box::new(s::Map),
        Box::new(s::Minus),
        Box::new(s::Modulo),
        Box::new(s::NewlineToBr),
        Box::new(s::Plus),
        Box::new(s::Prepend),
        Box::new(s::Remove),
        Box::new(s::RemoveFirst),
        Box::new(s::Replace),
        Box::new(s::ReplaceFirst),
        Box::new(s::Reverse),
        Box::new(s::Round),
        Box::new(s::Rstrip),
        Box::new(s::Size),
        Box::new(s::Slice),
        Box::new(s::Sort),
        Box::new(s::SortNatural),
        Box::new(s::Split),
        Box::new(s::Strip),
        Box::new(s::StripHtml),
        Box::new(s::StripNewlines),
        Box::new(s::Times),
        Box::new(s::Truncate),
        Box::new(s::TruncateWords),
        Box::new(s::Uniq),
        Box::new(s::Upcase),
        Box::new(s::UrlDecode),
        Box::new(s::UrlEncode),
        Box::new(s::Where),
    ];
    // Registering under a name already taken replaces the standard plugin.
    let mut b = liquid::ParserBuilder::with_stdlib().block(CaptureBlock);
    for f in filters {
        b = b.filter(BoundedParse(f));
    }
    // Only partials can make `build` fail, and none are configured.
    b.build().expect("the bounded Liquid parser builds")
}

fn refuse(message: String, line: usize) -> super::TemplateError {
    super::TemplateError {
        message,
        line: Some(line),
        bound: true,
    }
}

/// What one loop tag costs: its iterations at most, or why it is refused.
fn loop_size(args: &str) -> Result<u64, String> {
    // `i in (1..10) limit: 3 reversed`, `x in user.multifactor offset: 1`
    let rest = args.trim_start();
    let rest = rest
        .split_once(|c: char| c.is_whitespace())
        .map_or("", |(_, r)| r)
        .trim_start();
    let rest = rest.strip_prefix("in").unwrap_or(rest).trim_start();
    let (mut size, params) = if let Some(inner) = rest.strip_prefix('(') {
        let (range, params) = inner.split_once(')').unwrap_or((inner, ""));
        let (a, b) = range.split_once("..").unwrap_or((range, ""));
        let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) else {
            return Err(format!(
                "loops over the range ({}), whose bounds are not whole numbers written in the template",
                range.trim()
            ));
        };
        let n = (b as i128 - a as i128 + 1).clamp(0, u64::MAX as i128) as u64;
        (n, params)
    } else {
        (MAX_ITEMS as u64, rest)
    };
    // A literal `limit:` caps the loop whatever it walks.
    if let Some((_, after)) = params.split_once("limit")
        && let Some(after) = after.trim_start().strip_prefix(':')
    {
        let digits: String = after
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(l) = digits.parse::<u64>() {
            size = size.min(l);
        }
    }
    Ok(size)
}

/// The static layer (see the module note): ranges with literal bounds, nesting, and the
/// planned iterations of all loops together.
pub fn check_loops(src: &str) -> Result<(), super::TemplateError> {
    let Some(segs) = scan::complete_segments(src) else {
        // `liquid` parsed it, so this does not happen; refuse what cannot be checked.
        return Err(super::TemplateError {
            message: "has markup that cannot be checked".into(),
            line: None,
            bound: true,
        });
    };
    let mut open: Vec<u64> = Vec::new();
    let mut total: u64 = 0;
    for s in segs.iter().filter(|s| s.tag) {
        let name = s.text.split_whitespace().next().unwrap_or("");
        match name {
            "for" | "tablerow" => {
                let size = loop_size(&s.text[name.len()..]).map_err(|m| refuse(m, s.line))?;
                if open.len() >= MAX_LOOP_DEPTH {
                    return Err(refuse(
                        format!("nests loops more than {MAX_LOOP_DEPTH} deep"),
                        s.line,
                    ));
                }
                open.push(size);
                let planned = open.iter().fold(1u64, |p, n| p.saturating_mul(*n));
                total = total.saturating_add(planned);
                if total > MAX_ITERATIONS {
                    return Err(refuse(
                        format!(
                            "plans more than {MAX_ITERATIONS} loop iterations (a loop over a list counts as {MAX_ITEMS} unless it has a literal limit)"
                        ),
                        s.line,
                    ));
                }
            }
            "endfor" | "endtablerow" => {
                open.pop();
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(src: &str) -> String {
        check_loops(src).unwrap_err().to_string()
    }

    #[test]
    fn loops_are_bounded_statically() {
        for ok in [
            "{% for i in (1..10) %}{{ i }}{% endfor %}",
            "{%- for i in ( 1 .. 30 ) -%}{% for j in (1..30) %}x{% endfor %}{%- endfor -%}",
            "{% for f in user.multifactor %}{{ f }}{% endfor %}",
            "{% for f in user.multifactor limit: 5 %}{% for i in (1..100) %}{% endfor %}{% endfor %}",
            "{% raw %}{% for i in (1..100000000) %}{% endraw %}",
            "{% comment %}{% for i in (1..100000000) %}{% endfor %}{% endcomment %}",
            "{% for i in (5..1) %}{% endfor %}",
        ] {
            assert_eq!(check_loops(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            refused("a\n{% for i in (1..100000000) %}{{ i }}{% endfor %}"),
            "plans more than 1000 loop iterations (a loop over a list counts as 256 unless it has a literal limit) on line 2"
        );
        assert!(
            refused("{% for i in (1..6000) %}{% for j in (1..6000) %}x{% endfor %}{% endfor %}")
                .starts_with("plans more than 1000")
        );
        // 40 × 30 nested: 1,240 planned, though each range alone is small
        assert!(
            refused("{% for i in (1..40) %}{% for j in (1..30) %}x{% endfor %}{% endfor %}")
                .starts_with("plans more than 1000")
        );
        assert!(
            refused("{% for a in user.multifactor %}{% for b in user.multifactor %}{% endfor %}{% endfor %}")
                .starts_with("plans more than 1000")
        );
        assert_eq!(
            refused("{% for i in (1..user.login_count) %}{% endfor %}"),
            "loops over the range (1..user.login_count), whose bounds are not whole numbers written in the template on line 1"
        );
        assert!(
            refused("{% tablerow i in (1..2000) %}{% endtablerow %}")
                .starts_with("plans more than 1000")
        );
        assert_eq!(
            refused(
                "{% for a in (1..1) %}{% for b in (1..1) %}{% for c in (1..1) %}{% for d in (1..1) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
            ),
            "nests loops more than 3 deep on line 1"
        );
    }

    #[test]
    fn sink_refuses_past_its_cap() {
        let mut c = Capped::new(4);
        assert!(c.write_all(b"abc").is_ok());
        assert!(c.write_all(b"de").is_err());
        assert!(c.over);
        assert_eq!(c.buf, b"abc");
    }
}

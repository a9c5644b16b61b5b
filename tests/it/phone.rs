//! The phone normaliser (`callsign::domain::phone`) against Google's data: every line of the
//! corpus `scripts/phone_corpus.py` generates from the Python port of libphonenumber (pinned to
//! the metadata rlibphonenumber embeds) must normalise to the same E.164 form, or be refused
//! where Google's answer is `invalid`. scripts/test generates the full corpus (~14k lines) and
//! points `CALLSIGN_PHONE_CORPUS` at it; without it, a checked-in sample of ~100 lines runs.
//! No database: the normaliser is pure, so there is no per-backend loop here.

use std::path::PathBuf;

use callsign::domain::phone::normalize;

const SAMPLE: &str = "tests/it/data/phone-sample.tsv";
const SHOW: usize = 20;

#[test]
fn corpus_agrees_with_google() {
    let path = match std::env::var_os("CALLSIGN_PHONE_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => {
            eprintln!(
                "note: CALLSIGN_PHONE_CORPUS unset; checking the {SAMPLE} sample only \
                 (scripts/test generates the full corpus)"
            );
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)
        }
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));

    let mut total = 0usize;
    let mut disagreements = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [input, region, want] = fields[..] else {
            panic!(
                "{}:{}: expected 3 tab-separated fields",
                path.display(),
                i + 1
            );
        };
        total += 1;
        let region = (!region.is_empty()).then_some(region);
        let got = match normalize(input, region) {
            Ok(e) => e.to_string(),
            Err(err) => format!("invalid ({err})"),
        };
        let agrees = if want == "invalid" {
            got.starts_with("invalid")
        } else {
            got == want
        };
        if !agrees {
            disagreements.push(format!(
                "  line {}: {input:?} region {region:?}: want {want}, got {got}",
                i + 1
            ));
        }
    }

    assert!(total >= 90, "{}: only {total} cases", path.display());
    if !disagreements.is_empty() {
        let shown = disagreements.iter().take(SHOW).cloned().collect::<Vec<_>>();
        panic!(
            "{} of {total} cases in {} disagree with Google (first {}):\n{}",
            disagreements.len(),
            path.display(),
            shown.len(),
            shown.join("\n")
        );
    }
}

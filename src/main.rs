//! The `callsign` binary: everything lives in the library; this only hands over to `cli::run`.

fn main() -> std::process::ExitCode {
    callsign::cli::run()
}

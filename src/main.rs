//! The `envshim` binary: parse, run, print one plain error line, exit with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = envshim::cli::parse();
    match envshim::cli::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("envshim: {err:#}");
            envshim::exit::code_of(&err).into()
        }
    }
}

//! The `envshim` binary: parse, run, print one plain error line, exit with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    envshim::exit::install_panic_hook();
    envshim::process::protect_memory();
    // Before anything else runs (and while there is one thread): the identity variables
    // leave the environment, so no command envshim starts inherits them.
    envshim::secrets::identity::take_from_environment();
    let cli = envshim::cli::parse();
    // A panic unwinds (wiping the plaintext buffers on the way) and ends with status 2.
    match std::panic::catch_unwind(|| envshim::cli::run(cli)) {
        Ok(Ok(code)) => code.into(),
        Ok(Err(err)) if envshim::exit::is_stdout_closed(&err) => {
            envshim::exit::Exit::Success.into()
        }
        Ok(Err(err)) => {
            // Errors may quote repository text (a rule id, a path): each line is shown
            // with its control characters escaped, and none can act as a CI command.
            let text = format!("{err:#}");
            let lines: Vec<String> = text.split('\n').map(envshim::scan::sanitize).collect();
            eprintln!("envshim: {}", lines.join("\n"));
            envshim::exit::code_of(&err).into()
        }
        Err(_) => envshim::exit::Exit::BadInput.into(),
    }
}

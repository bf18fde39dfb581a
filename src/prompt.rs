//! Masked prompts on the terminal, for values that must not be echoed or logged.

use std::io::IsTerminal;

use zeroize::Zeroizing;

/// True when the user can be asked: standard input is a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks for a value without echoing it; the prompt goes to the terminal.
pub fn masked(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| anyhow::anyhow!("cannot read from the terminal: {e}"))
}

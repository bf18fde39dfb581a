//! The command line: the clap definition (also used for completions) and dispatch to one
//! module per subcommand.

mod doctor;
mod edit;
mod exec;
mod hook;
mod init;
mod keygen;
mod list;
mod man;
mod mv;
mod recipients;
mod scan;
mod suggest;
mod transfer;
mod values;
mod whoami;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::exit::Exit;

const ABOUT: &str =
    "Keep a project's secrets in one age-encrypted dotenv file in git, and run commands with them.";

const EXAMPLES: &str = "\
Examples:
  envshim init                          create .env.secrets, its recipients and example
  envshim exec -- npm start             run a command with the runtime secrets
  envshim exec --scope deploy -- terraform apply
  envshim -f deploy/prod.env.secrets exec -- ./migrate
  ENVSHIM_AGE_KEY=\"$KEY\" envshim exec -- ./run-tests   (CI: the key from a CI secret)";

/// envshim's command line.
#[derive(Debug, Parser)]
#[command(name = "envshim", version, about = ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// The encrypted secrets file [default: nearest .env.secrets up to the repository root]
    #[arg(
        short = 'f',
        long = "file",
        env = "ENVSHIM_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub file: Option<PathBuf>,

    /// An identity (private key) file; repeatable. Overrides every other source.
    #[arg(short = 'i', long = "identity", global = true, value_name = "FILE")]
    pub identity: Vec<PathBuf>,

    /// Print only errors.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// When to use colour (NO_COLOR is honoured).
    #[arg(long, global = true, value_enum, default_value_t = clap::ColorChoice::Auto, value_name = "WHEN")]
    pub color: clap::ColorChoice,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the encrypted secrets file, its recipients and example files, and an
    /// identity if you have none.
    #[command(after_help = "\
Examples:
  envshim init                            in the project root
  envshim -f deploy/prod.env.secrets init --recipient age1… --recipient \"$(cat ~/.ssh/id_ed25519.pub)\"")]
    Init(init::InitArgs),

    /// Generate a new age identity (private key, mode 0600) and print its public key.
    #[command(after_help = "\
Examples:
  envshim keygen                     writes ~/.config/envshim/identity.txt
  envshim keygen -o ci-key.txt       for a CI secret (then delete the file)
  envshim keygen -o -                print the identity to stdout")]
    Keygen(keygen::KeygenArgs),

    /// Set a variable: from a masked prompt on a terminal, else from standard input.
    #[command(after_help = "\
Examples:
  envshim set DATABASE_URL                         asks, input hidden
  printf %s \"$TOKEN\" | envshim set API_TOKEN
  envshim set CLOUDFLARE_API_TOKEN --deploy < token.txt   (also moves an existing key)

To move a key without entering its value again: envshim mv NAME --deploy (or --runtime).")]
    Set(values::SetArgs),

    /// Print a variable's value.
    #[command(after_help = "\
Examples:
  envshim get DATABASE_URL
  psql \"$(envshim get DATABASE_URL)\"")]
    Get(values::NameArgs),

    /// List variables: name, scope, required/optional, set/missing. Never values.
    #[command(after_help = "\
Examples:
  envshim list
  envshim list --json | jq -r '.variables[] | select(.set == false) | .name'")]
    List(list::ListArgs),

    /// Move a variable to the deploy or the runtime section; its value stays as it is.
    #[command(after_help = "\
Examples:
  envshim mv CLOUDFLARE_API_TOKEN --deploy     only deploy tooling gets it now
  envshim mv SENTRY_DSN --runtime")]
    Mv(mv::MvArgs),

    /// Remove a variable from the secrets and the example.
    #[command(after_help = "\
Examples:
  envshim rm OLD_API_KEY")]
    Rm(values::NameArgs),

    /// Merge a plaintext dotenv file into the encrypted file. Each definition is stored as
    /// written: `${VAR}` references are expanded when the file is used, not now.
    #[command(after_help = "\
Dialects (--dialect): how the file is read. The stored text gives, at `exec`, the values
that library gives for the file; warnings name lines it reads differently from the others.
  dotenvy   (default) Rust dotenvy, envshim's own: stored exactly as written
  node      Node's dotenv: backticks, unquoted spaces, `#` comments, `$` taken literally
  python    python-dotenv: `${VAR}` expanded (even in single quotes), `$VAR` literal
  compose   Docker Compose env_file: `$VAR`, `${VAR}`, `$$` for a dollar sign
`${VAR:-default}` has no dotenvy equivalent and is refused (python accepts it when VAR is
defined earlier in the file).

Examples:
  envshim import .env && rm .env
  envshim import ci.env --deploy
  envshim import --dialect node .env              a file written for require('dotenv')
  envshim import --dialect python .env            a file read by load_dotenv()
  envshim import --dialect compose app.env        an env_file of docker-compose.yml
  envshim -f a.env.secrets export | envshim -f b.env.secrets import -")]
    Import(transfer::ImportArgs),

    /// Print the decrypted dotenv text (to stdout only; `import` reads it back).
    #[command(after_help = "\
Examples:
  envshim export --scope runtime > /dev/null    check that it decrypts
  envshim export | envshim -f staging.env.secrets import -")]
    Export(transfer::ExportArgs),

    /// Edit the decrypted file in $VISUAL or $EDITOR; validated and re-encrypted.
    #[command(after_help = "\
Examples:
  envshim edit
  EDITOR='code --wait' envshim edit")]
    Edit(edit::EditArgs),

    /// Show your identity, its public key, and whether it is a recipient of the file.
    #[command(after_help = "\
Examples:
  envshim whoami                     which key envshim uses, and can it read .env.secrets?
  envshim -f deploy/prod.env.secrets whoami")]
    Whoami,

    /// List, add or remove recipients; every change re-encrypts the file.
    #[command(after_help = "\
Examples:
  envshim recipients list
  envshim recipients add age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
  envshim recipients add \"$(cat alice_ed25519.pub)\"
  envshim recipients rm age1…")]
    Recipients(recipients::RecipientsArgs),

    /// Scan files for plaintext secrets (exit 1 when any is found).
    #[command(after_help = "\
Examples:
  envshim scan                               the working tree
  envshim scan src config --format json
  envshim scan --format sarif > envshim.sarif
  envshim scan --update-baseline             accept what is there now
  envshim scan --no-baseline                 report findings the baseline accepts too

Suppress a finding that is not a secret with `envshim:allow` on its line or the line
before; allowlist paths and add rules in envshim.toml ([scan] section).")]
    Scan(scan::ScanArgs),

    /// Install or remove the git pre-commit hook that runs `envshim scan --staged`.
    #[command(after_help = "\
Examples:
  envshim hook install            honours core.hooksPath; safe to run twice
  envshim hook install --force    replace a different pre-commit hook
  envshim hook uninstall          removes it only if it is envshim's")]
    Hook(hook::HookArgs),

    /// Check the set-up and explain how to fix what is wrong (exit 1 if anything is).
    #[command(after_help = "\
Examples:
  envshim doctor
  envshim doctor --fix      also rewrite an out-of-date example file")]
    Doctor(doctor::DoctorArgs),

    /// Run a command with the secrets in its environment (replaces envshim: same PID,
    /// signals and exit status).
    #[command(after_help = "\
Examples:
  envshim exec -- npm start
  envshim exec --scope deploy -- terraform apply
  envshim exec --no-override -- ./server     inherited variables win over the file

Exit status: the command's own; 127 if it is not found, 126 if it cannot be executed,
2 if the secrets cannot be read or required variables are missing.")]
    Exec(exec::ExecArgs),

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  envshim completions bash > ~/.local/share/bash-completion/completions/envshim
  envshim completions zsh > \"${fpath[1]}/_envshim\"
  envshim completions fish > ~/.config/fish/completions/envshim.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff), or write one page per command with --dir.
    #[command(after_help = "\
Examples:
  envshim man | man -l -
  envshim man --dir /usr/local/share/man/man1     envshim.1 and envshim-init.1, …")]
    Man(man::ManArgs),
}

/// Parses the process arguments; prints help or a usage error and exits (status 2) itself.
pub fn parse() -> Cli {
    Cli::parse()
}

/// Parses `args` (for tests and embedding).
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let color = match cli.color {
        clap::ColorChoice::Always => true,
        clap::ColorChoice::Never => false,
        clap::ColorChoice::Auto => {
            use std::io::IsTerminal;
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    let global = Global {
        file: cli.file,
        identity: cli.identity,
        quiet: cli.quiet,
        color,
    };
    match cli.command {
        Command::Init(args) => init::run(&global, args),
        Command::Keygen(args) => keygen::run(&global, args),
        Command::Exec(args) => exec::run(&global, args),
        Command::Set(args) => values::set(&global, args),
        Command::Get(args) => values::get(&global, args),
        Command::List(args) => list::run(&global, args),
        Command::Rm(args) => values::rm(&global, args),
        Command::Mv(args) => mv::run(&global, args),
        Command::Import(args) => transfer::import(&global, args),
        Command::Export(args) => transfer::export(&global, args),
        Command::Edit(args) => edit::run(&global, args),
        Command::Recipients(args) => recipients::run(&global, args),
        Command::Whoami => whoami::run(&global),
        Command::Doctor(args) => doctor::run(&global, args),
        Command::Scan(args) => scan::run(&global, args),
        Command::Hook(args) => hook::run(&global, args),
        Command::Completions { shell } => man::completions(shell),
        Command::Man(args) => man::run(&global, args),
    }
}

/// Options every subcommand sees.
pub struct Global {
    /// `-f/--file`.
    pub file: Option<PathBuf>,
    /// `-i/--identity`.
    pub identity: Vec<PathBuf>,
    /// `--quiet`.
    pub quiet: bool,
    /// Whether to colour output (from `--color` and `NO_COLOR`).
    pub color: bool,
}

impl Global {
    /// Prints an informational line on stderr unless `--quiet`.
    pub fn info(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

//! `envshim man` and `envshim completions`: documentation generated from the clap
//! definition, so it cannot drift from `--help`. Output goes through `io::Write` and its
//! errors are returned, never unwrapped, so a closed stdout is handled in one place.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;
use roff::{bold, italic, roman, Inline, Roff};

use super::{Cli, Global};
use crate::exit::Exit;

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write envshim.1 and one page per subcommand (envshim-init.1, envshim-exec.1, …)
    /// into DIR, created if missing, instead of printing envshim.1 alone.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs `man`.
pub fn run(global: &Global, args: ManArgs) -> anyhow::Result<Exit> {
    let root = command();
    match args.dir {
        None => {
            let mut page = Vec::new();
            main_page(&root, false, &mut page)?;
            let mut out = crate::output::stdout();
            out.write_all(&portable(&page))?;
            out.flush()?;
        }
        Some(dir) => {
            let written = write_pages(&root, &dir)?;
            global.info(format_args!(
                "wrote {written} manual pages to {}; read them with `man -l {}/envshim.1`, \
                 or add the directory to MANPATH",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(Exit::Success)
}

/// Writes a shell completion script to stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    // The generators panic on a failed write; a buffer cannot fail, stdout can.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "envshim", &mut script);
    let mut out = crate::output::stdout();
    out.write_all(&script)?;
    out.flush()?;
    Ok(Exit::Success)
}

/// The command line as the pages describe it: built (so subcommands know their page
/// names, `envshim-recipients-add`) and without clap's `help` subcommand.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The page with every non-ASCII character as a roff escape (`…` as `\[u2026]`): groff
/// reads its input as Latin-1 unless `man` runs it through `preconv`.
fn portable(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out.into_bytes()
}

/// Every subcommand below `cmd` that gets a page, depth first.
fn subpages(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut pages = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(sub);
        pages.extend(subpages(sub));
    }
    pages
}

/// A command's page name: `envshim`, `envshim-init`, `envshim-recipients-add`.
fn page_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// Writes every page into `dir`; returns how many.
fn write_pages(root: &clap::Command, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, render: &dyn Fn(&mut Vec<u8>) -> io::Result<()>| {
        let mut page = Vec::new();
        render(&mut page)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, portable(&page))
            .with_context(|| format!("cannot write {}", path.display()))
    };
    write(page_name(root), &|out| main_page(root, true, out))?;
    let subs = subpages(root);
    for sub in &subs {
        let parent = parent_of(root, sub);
        write(page_name(sub), &|out| sub_page(sub, parent, out))?;
    }
    Ok(1 + subs.len())
}

/// The command whose subcommand `sub` is (the root for top-level subcommands).
fn parent_of<'a>(root: &'a clap::Command, sub: &clap::Command) -> &'a clap::Command {
    let name = page_name(sub);
    subpages(root)
        .into_iter()
        .find(|c| c.get_subcommands().any(|s| page_name(s) == name))
        .unwrap_or(root)
}

/// Names like ENVSHIM_AGE_KEY and paths must not be split across lines.
const NO_HYPHENATION: &[u8] = b".nh\n";

/// The sections every page starts with: title, name, synopsis, description, options.
fn page_head(man: &clap_mangen::Man, out: &mut dyn Write) -> io::Result<()> {
    man.render_title(out)?;
    out.write_all(NO_HYPHENATION)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)
}

/// `envshim.1`. With `subpages`, the subcommands are references to their own pages;
/// without (one page on stdout), they are described here and nothing refers elsewhere.
fn main_page(root: &clap::Command, subpages: bool, out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(root.clone());
    page_head(&man, out)?;
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        roff.control("TP", []);
        if subpages {
            roff.text([bold(page_name(sub)), roman("(1)")]);
        } else {
            roff.text([bold(format!("envshim {}", sub.get_name()))]);
        }
        if let Some(about) = sub.get_about() {
            roff.text([roman(about.to_string())]);
        }
    }
    if !subpages {
        roff.control("PP", []);
        roff.text([
            roman("Each command's options: "),
            bold("envshim COMMAND --help"),
            roman(". "),
            bold("envshim man --dir DIR"),
            roman(" writes this page and one page per command."),
        ]);
    }
    examples(&mut roff, root);
    environment(&mut roff);
    files(&mut roff);
    exit_status(&mut roff);
    if subpages {
        let refs: Vec<&clap::Command> = root
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .collect();
        see_also(&mut roff, &refs);
    }
    roff.to_writer(out)
}

/// `envshim-SUB.1`: the command's options, its subcommands' pages and its examples.
fn sub_page(cmd: &clap::Command, parent: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man =
        clap_mangen::Man::new(cmd.clone()).source(format!("envshim {}", env!("CARGO_PKG_VERSION")));
    page_head(&man, out)?;
    let children: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    let mut roff = Roff::new();
    if !children.is_empty() {
        roff.control("SH", ["COMMANDS"]);
        for sub in &children {
            roff.control("TP", []);
            roff.text([bold(page_name(sub)), roman("(1)")]);
            if let Some(about) = sub.get_about() {
                roff.text([roman(about.to_string())]);
            }
        }
    }
    examples(&mut roff, cmd);
    let mut refs = vec![parent];
    refs.extend(children);
    see_also(&mut roff, &refs);
    roff.to_writer(out)
}

/// The after-help text (`Examples:` and notes), kept in its columns.
fn examples(roff: &mut Roff, cmd: &clap::Command) {
    let Some(text) = cmd.get_after_help() else {
        return;
    };
    let text = text.to_string();
    let body = text.strip_prefix("Examples:\n").unwrap_or(&text);
    roff.control("SH", ["EXAMPLES"]);
    roff.control("nf", []);
    for line in body.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
}

/// One `.TP` entry: a bold term and its description.
fn entry(roff: &mut Roff, term: Vec<Inline>, text: &str) {
    roff.control("TP", []);
    roff.text(term);
    roff.text([roman(text)]);
}

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, text) in [
        (
            "ENVSHIM_FILE",
            "The encrypted secrets file, as -f FILE (which wins over it).",
        ),
        (
            "ENVSHIM_AGE_KEY",
            "The text of an age identity (AGE-SECRET-KEY-1…), for CI secrets. Used when no \
             --identity is given. Removed from the environment of every command envshim runs.",
        ),
        (
            "ENVSHIM_IDENTITY",
            "The path of an identity file, used when neither --identity nor ENVSHIM_AGE_KEY \
             is given. Removed from the environment of every command envshim runs.",
        ),
        (
            "XDG_CONFIG_HOME",
            "The default identity is $XDG_CONFIG_HOME/envshim/identity.txt (without it, \
             ~/.config/envshim/identity.txt).",
        ),
        (
            "HOME",
            "Locates ~/.config and ~/.ssh/id_ed25519 and ~/.ssh/id_rsa, which are used when \
             their public key is a recipient.",
        ),
        (
            "VISUAL, EDITOR",
            "The editor envshim edit runs, VISUAL first; it may include arguments \
             (code --wait).",
        ),
        (
            "NO_COLOR",
            "When set and not empty, output is not coloured unless --color always is given.",
        ),
        (
            "XDG_RUNTIME_DIR",
            "envshim edit puts its private temporary file (mode 0600, in a 0700 directory) \
             there, else in /dev/shm, else in the system temporary directory.",
        ),
    ] {
        entry(roff, vec![bold(name)], text);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    roff.text([roman(
        "A secrets file's companions are named after it: -f deploy/prod.env.secrets uses \
         deploy/prod.env.secrets.recipients and deploy/prod.env.secrets.example.",
    )]);
    for (name, text) in [
        (
            ".env.secrets",
            "The secrets: dotenv text with # [runtime] and # [deploy] sections, encrypted \
             with age (ASCII armour). Committed. Without -f, the nearest one from the \
             current directory up to the repository root.",
        ),
        (
            ".env.secrets.recipients",
            "Who can decrypt: age public keys (age1…) and SSH public keys (ssh-ed25519, \
             ssh-rsa), one per line, # comments allowed, as age -R reads it. A comment on the \
             line directly above a key is that key's label. Committed.",
        ),
        (
            ".env.secrets.example",
            "The plaintext template: the same sections and keys with empty values, and the \
             # optional, # file and # public marks. Rewritten on every change. Committed.",
        ),
        (
            "envshim.toml",
            "Optional project settings: scanner size limit, disabled and extra rules, \
             allowlists ([scan] section).",
        ),
        (
            ".envshim-baseline.json",
            "Optional scanner baseline: fingerprints of accepted findings, never the \
             secrets. Written by envshim scan --update-baseline.",
        ),
        (
            ".envshimignore",
            "Paths the scanner skips, in .gitignore syntax (files git tracks are still \
             scanned in git modes).",
        ),
        (
            "~/.config/envshim/identity.txt",
            "Your identity (private key), mode 0600; created by envshim init or envshim \
             keygen. Never commit it.",
        ),
    ] {
        entry(roff, vec![italic(name)], text);
    }
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, text) in [
        ("0", "Success."),
        (
            "1",
            "envshim scan found secrets, or envshim doctor found problems.",
        ),
        (
            "2",
            "Usage error or bad input: a malformed file, a wrong key, a tampered \
             ciphertext, an unreadable path, missing required variables.",
        ),
        (
            "126",
            "envshim exec: the command was found but cannot be executed (not executable, \
             a directory).",
        ),
        (
            "127",
            "envshim exec: the command was not found, or the interpreter named on its #! \
             line was not found.",
        ),
    ] {
        entry(roff, vec![bold(code)], text);
    }
    roff.control("PP", []);
    roff.text([roman(
        "Otherwise envshim exec ends with the command's own status: the command replaces \
         envshim.",
    )]);
}

/// `SEE ALSO` naming only pages that `man --dir` writes.
fn see_also(roff: &mut Roff, pages: &[&clap::Command]) {
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        if index > 0 {
            line.push(roman(", "));
        }
        line.push(bold(page_name(page)));
        line.push(roman("(1)"));
    }
    roff.text(line);
}

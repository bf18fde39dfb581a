//! The manual pages and the help text: rendered by the real `man` and `groff`, every
//! page they refer to exists, and nothing points at documents users do not have.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::util::*;

/// Renders a page with the real `man -l` (man-db), wide enough that no reference wraps.
fn man_render(page: &Path) -> Run {
    let r: Run = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "400")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .expect("man (Debian packages man-db and groff-base)")
        .into();
    r.ok()
}

/// Checks a page with groff's warnings on: returns its complaints (empty when clean).
fn groff_warnings(page: &Path) -> String {
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .output()
        .expect("groff (Debian package groff-base)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every `envshim…(1)` reference in the rendered text of page `own`, other than the
/// page's own name in its header and footer.
fn references(text: &str, own: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\b(envshim(?:-[a-z]+)*)\(1\)").unwrap();
    re.captures_iter(text)
        .map(|c| c[1].to_string())
        .filter(|name| name != own)
        .collect()
}

#[test]
fn man_dir_writes_a_page_per_command_and_every_reference_exists() {
    let p = Project::new();
    p.run(["man", "--dir", "pages"])
        .ok()
        .stderr_has(&["manual pages"]);
    let dir = p.path("pages");
    let pages: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in [
        "envshim.1",
        "envshim-init.1",
        "envshim-keygen.1",
        "envshim-set.1",
        "envshim-get.1",
        "envshim-list.1",
        "envshim-rm.1",
        "envshim-mv.1",
        "envshim-whoami.1",
        "envshim-import.1",
        "envshim-export.1",
        "envshim-edit.1",
        "envshim-recipients.1",
        "envshim-recipients-add.1",
        "envshim-scan.1",
        "envshim-hook.1",
        "envshim-doctor.1",
        "envshim-exec.1",
        "envshim-completions.1",
        "envshim-man.1",
    ] {
        assert!(pages.contains(name), "{name} missing from {pages:?}");
    }
    assert!(!pages.contains("envshim-help.1"), "{pages:?}");

    let mut referenced = BTreeSet::new();
    for page in &pages {
        let path = dir.join(page);
        assert_eq!(groff_warnings(&path), "", "{page}");
        let text = man_render(&path).stdout;
        let stem = page.trim_end_matches(".1");
        assert!(text.contains("NAME"), "{page}:\n{text}");
        assert!(text.contains(&format!("{stem} - ")), "{page}:\n{text}");
        assert!(text.contains("SEE ALSO"), "{page}:\n{text}");
        assert!(!text.contains("DESIGN"), "{page}:\n{text}");
        for reference in references(&text, stem) {
            assert!(
                pages.contains(&format!("{reference}.1")),
                "{page} refers to {reference}(1), which was not written"
            );
            referenced.insert(reference);
        }
    }
    // Every page is reachable from another one.
    for page in &pages {
        let stem = page.trim_end_matches(".1");
        assert!(referenced.contains(stem), "nothing refers to {page}");
    }

    let main = man_render(&dir.join("envshim.1")).stdout;
    for section in [
        "ENVIRONMENT",
        "FILES",
        "EXIT STATUS",
        "EXAMPLES",
        "COMMANDS",
    ] {
        assert!(
            main.lines().any(|l| l == section),
            "no {section} section:\n{main}"
        );
    }
    for word in [
        "ENVSHIM_FILE",
        "ENVSHIM_AGE_KEY",
        "ENVSHIM_IDENTITY",
        "XDG_CONFIG_HOME",
        "VISUAL, EDITOR",
        "NO_COLOR",
        "XDG_RUNTIME_DIR",
        ".env.secrets.recipients",
        ".env.secrets.example",
        "envshim.toml",
        ".envshim-baseline.json",
        ".envshimignore",
        "~/.config/envshim/identity.txt",
        "126",
        "127",
        "age1",
    ] {
        assert!(main.contains(word), "envshim.1 lacks {word}:\n{main}");
    }
    let exec = man_render(&dir.join("envshim-exec.1")).stdout;
    assert!(exec.contains("--no-override"), "{exec}");
    assert!(exec.contains("envshim exec --scope deploy -- terraform apply"));
}

#[test]
fn the_single_page_on_stdout_refers_to_no_page_it_does_not_ship() {
    let p = Project::new();
    let r = p.run(["man"]).ok();
    let page = p.write("envshim.1", &r.stdout);
    assert_eq!(groff_warnings(&page), "");
    let text = man_render(&page).stdout;
    assert_eq!(references(&text, "envshim"), BTreeSet::new(), "{text}");
    for word in [
        "envshim init",
        "envshim exec",
        "ENVIRONMENT",
        "EXIT STATUS",
        "--dir",
    ] {
        assert!(text.contains(word), "lacks {word}:\n{text}");
    }
}

#[test]
fn help_never_points_at_the_design_document() {
    let p = Project::new();
    let r = p.run(["scan", "--help"]).ok();
    assert!(!r.stdout.contains("DESIGN"), "{r:?}");
    assert!(r.stdout.contains("README"), "{r:?}");
    let r = p.run(["man"]).ok();
    assert!(!r.stdout.contains("DESIGN"));
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    let p = Project::new();
    for args in [&["completions", "bash"][..], &["man"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let r: Run = p
            .envshim()
            .args(args)
            .stdout(writer)
            .output()
            .unwrap()
            .into();
        assert!(!r.stderr.contains("internal error"), "{args:?}: {r:?}");
        assert!(!r.stderr.contains("panicked"), "{args:?}: {r:?}");
    }
}

//! Integration tests: the real binary, real git repositories, the real `age` CLI.

mod bad_input;
mod bounds;
mod cli;
mod doctor;
mod edit;
mod exec;
mod faults;
mod fuzz_corpus;
mod git;
mod git_trust;
mod identity;
mod import;
mod init_keygen;
mod interop;
mod man;
mod manage;
mod no_plaintext;
mod properties;
mod recipients;
mod report_trust;
mod rules_trust;
mod scan;
mod scan_trust;
mod trust;
mod usability;
mod util;

//! Integration tests: the real binary, real git repositories, the real `age` CLI.

mod bad_input;
mod cli;
mod exec;
mod identity;
mod init_keygen;
mod interop;
mod manage;
mod util;

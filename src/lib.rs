//! envshim keeps a project's secrets in one age-encrypted dotenv file that lives in git
//! (`.env.secrets`), and runs commands with them (`envshim exec -- cmd`).
//!
//! The library holds everything; `main.rs` only parses the command line, calls
//! [`cli::run`] and turns the result into an exit status with [`exit::code_of`].

#![forbid(unsafe_code)]

pub mod cli;
pub mod exec;
pub mod exit;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod output;
pub mod process;
pub mod prompt;
pub mod report;
pub mod scan;
pub mod secrets;

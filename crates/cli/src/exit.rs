//! Exit codes, in one place, and the classification of errors into them.

use std::process::ExitCode;

use tenantctl_engine::{EngineError, ErrorKind};
use tenantctl_migrations::LoadError;

/// Success.
pub(crate) const SUCCESS: u8 = 0;
/// The operation ran and something failed (a tenant, a migration, a lint verdict).
pub(crate) const FAILURE: u8 = 1;
/// Invalid input: usage, configuration, migration files, org ids. Nothing was changed.
pub(crate) const INPUT: u8 = 2;
/// The control database could not be reached.
pub(crate) const UNREACHABLE: u8 = 3;
/// Interrupted by SIGINT.
pub(crate) const SIGINT: u8 = 130;
/// Interrupted by SIGTERM.
pub(crate) const SIGTERM: u8 = 143;

/// Input the user must fix; exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InputError(String);

impl InputError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The exit code for an error that stopped a command.
pub(crate) fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<InputError>() || cause.is::<LoadError>() {
            return INPUT;
        }
        if let Some(engine) = cause.downcast_ref::<EngineError>() {
            return match engine.kind() {
                ErrorKind::Input => INPUT,
                ErrorKind::Unreachable => UNREACHABLE,
                ErrorKind::Failed => FAILURE,
            };
        }
    }
    FAILURE
}

pub(crate) fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

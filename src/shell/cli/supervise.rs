//! `-supervise -- COMMAND`: tpc runs nutcracker as its child and restarts it to reload.
//! The command line must make sure that child loads the file tpc writes and stays tpc's
//! child; this checks it.

use std::fmt;
use std::path::Path;

use super::args::RawArgs;
use super::nutcracker_argv;
use crate::shell::config_file::same_file;

/// A `-supervise` command line tpc cannot run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuperviseError {
    /// `-supervise` with nothing after `--`.
    NoCommand,
    /// Words after `--` without `-supervise`.
    CommandWithoutSupervise(String),
    /// `-supervise` and `-cmd` both given.
    WithCmd,
    /// `-supervise` without `-out`.
    NoOut,
    /// The command names no config file: nutcracker would load its default.
    NoConfFile {
        /// `-out`.
        out: String,
    },
    /// The command's config file is not `-out`.
    OtherConfFile {
        /// The command's config file.
        conf: String,
        /// `-out`.
        out: String,
    },
    /// The command makes nutcracker daemonize or exit at once.
    Leaves {
        /// The option, as written.
        option: String,
    },
}

impl fmt::Display for SuperviseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuperviseError::NoCommand => write!(
                f,
                "-supervise needs nutcracker's command line after --, e.g. -supervise -- nutcracker -c /etc/nutcracker/nutcracker.yml"
            ),
            SuperviseError::CommandWithoutSupervise(program) => write!(
                f,
                "a command after -- ({program:?}) is only run with -supervise: add -supervise to run it as tpc's child, or remove everything from --"
            ),
            SuperviseError::WithCmd => write!(
                f,
                "-supervise and -cmd exclude each other: under -supervise a reload restarts the child; drop -cmd"
            ),
            SuperviseError::NoOut => write!(
                f,
                "-supervise needs -out: nutcracker loads its config from a file; give -out FILE and the same FILE to nutcracker's -c"
            ),
            SuperviseError::NoConfFile { out } => write!(
                f,
                "the command after -- names no config file, so nutcracker would load its default instead of -out: add -c {out}"
            ),
            SuperviseError::OtherConfFile { conf, out } => write!(
                f,
                "the command after -- loads {conf}, which is not -out {out}: nutcracker would never see what tpc writes; give it -c {out}"
            ),
            SuperviseError::Leaves { option } => write!(
                f,
                "the command after -- has {option}: nutcracker would daemonize or exit at once instead of running as tpc's child; remove {option}"
            ),
        }
    }
}

/// The command `-supervise` runs (none without `-supervise`), checked against the
/// other flags: `cmd_given` says whether `-cmd` was given, `out` is `-out`.
pub fn check(
    raw: &RawArgs,
    cmd_given: bool,
    out: Option<&Path>,
) -> Result<Option<Vec<String>>, SuperviseError> {
    let command = &raw.command;
    if !raw.supervise {
        return match command.first() {
            Some(program) => Err(SuperviseError::CommandWithoutSupervise(program.clone())),
            None => Ok(None),
        };
    }
    if command.is_empty() {
        return Err(SuperviseError::NoCommand);
    }
    if cmd_given {
        return Err(SuperviseError::WithCmd);
    }
    let out = out.ok_or(SuperviseError::NoOut)?;
    let shown = || out.display().to_string();
    let args = nutcracker_argv::read(&command[1..]);
    if let Some(option) = args.leaving {
        return Err(SuperviseError::Leaves { option });
    }
    match args.conf_file {
        None => Err(SuperviseError::NoConfFile { out: shown() }),
        Some(conf) if !same_file(Path::new(&conf), out) => {
            Err(SuperviseError::OtherConfFile { conf, out: shown() })
        }
        Some(_) => Ok(Some(command.clone())),
    }
}

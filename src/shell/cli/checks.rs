//! Checks made when tpc starts to run (the daemon and the dry run, not replay), against
//! the machine rather than the flags alone: every path given, and the listen address,
//! which nutcracker resolves and refuses a config for when it cannot.

use std::net::ToSocketAddrs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::validate::{Options, UsageError};
use crate::shell::sentinel::ca_roots;

/// Checks every path in `options` and that the pool's listen address resolves.
pub fn check(options: &Options) -> Result<(), UsageError> {
    if let Some(out) = &options.out {
        if out.is_dir() {
            return Err(bad("out", out, "is a folder".into(), OUT_WANT));
        }
        folder_exists("out", out, OUT_WANT)?;
    }
    if let Some(log) = &options.log {
        folder_exists(
            "log",
            log,
            "create it, or give a log file in an existing folder",
        )?;
    }
    if let Some(record) = &options.record {
        folder_exists(
            "record",
            record,
            "create it, or give a file in an existing folder",
        )?;
    }
    if let Some(backup) = &options.backup {
        if !backup.is_dir() {
            return Err(bad(
                "backup",
                backup,
                "is not a folder".into(),
                "give an existing folder for the backups",
            ));
        }
    }
    if let Some(masters) = &options.dry_run_masters {
        readable(
            "masters",
            masters,
            "give a file of \"name host:port\" lines",
        )?;
    }
    if let Some(ca) = &options.auth.ca_file {
        const CA_WANT: &str = "give the PEM file of the CA that signed the sentinels' certificates";
        readable("sentinel_ca", ca, CA_WANT)?;
        ca_roots(ca).map_err(|problem| bad("sentinel_ca", ca, problem, CA_WANT))?;
    }
    if let Some(nutcracker) = &options.nutcracker {
        executable("nutcracker", nutcracker)?;
    }
    listen_resolves(&options.core.pool.ip, options.core.pool.port)
}

const OUT_WANT: &str =
    "give the config file's path in an existing folder, e.g. /etc/nutcracker/nutcracker.yml";

fn bad(flag: &'static str, path: &Path, problem: String, want: &'static str) -> UsageError {
    UsageError::BadPath {
        flag,
        path: path.display().to_string(),
        problem,
        want,
    }
}

/// The folder `path` goes in must exist: tpc creates files, never folders.
fn folder_exists(flag: &'static str, path: &Path, want: &'static str) -> Result<(), UsageError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if folder.is_dir() {
        Ok(())
    } else {
        let problem = format!("folder {} does not exist", folder.display());
        Err(bad(flag, path, problem, want))
    }
}

fn readable(flag: &'static str, path: &Path, want: &'static str) -> Result<(), UsageError> {
    if path.is_dir() {
        return Err(bad(flag, path, "is a folder".into(), want));
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| bad(flag, path, format!("cannot be read ({e})"), want))
}

fn executable(flag: &'static str, path: &Path) -> Result<(), UsageError> {
    const WANT: &str = "give the nutcracker binary, e.g. /usr/sbin/nutcracker";
    let meta = std::fs::metadata(path).map_err(|e| bad(flag, path, e.to_string(), WANT))?;
    if !meta.is_file() {
        return Err(bad(flag, path, "is not a file".into(), WANT));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(bad(flag, path, "is not executable".into(), WANT));
    }
    Ok(())
}

/// nutcracker resolves its listen address (getaddrinfo, as here) and refuses a config
/// whose address does not resolve: `1.2.3.4.5`, `256.1.1.1`, an unknown hostname.
fn listen_resolves(ip: &str, port: u16) -> Result<(), UsageError> {
    let resolved = (ip, port)
        .to_socket_addrs()
        .map(|mut addrs| addrs.next().is_some());
    match resolved {
        Ok(true) => Ok(()),
        _ => Err(UsageError::BadText {
            flag: "ip",
            value: ip.to_string(),
            allowed: "an IPv4 or IPv6 address (e.g. 0.0.0.0 or ::1) or a hostname that resolves; nutcracker cannot listen on this one",
        }),
    }
}

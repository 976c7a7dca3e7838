//! Secrets on the command line, one mechanism for all of them: each is given as its flag
//! (which `ps` shows), as a file named by its `_file` flag, or in an environment
//! variable.

use crate::core::Secret;

use super::validate::UsageError;

/// Where one secret may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretFlag {
    /// The flag that takes the value itself, e.g. `redis_auth`.
    pub flag: &'static str,
    /// The flag that names a file holding it, e.g. `redis_auth_file`.
    pub file_flag: &'static str,
    /// The environment variable that may hold it, read when neither flag is given.
    pub env: &'static str,
    /// What it is, in words.
    pub what: &'static str,
}

/// Every secret flag.
pub const ALL: [SecretFlag; 4] = [REDIS_AUTH, SLACK_TOKEN, SENTINEL_PASSWORD, WEBHOOK];

/// The password nutcracker sends to the Redis servers.
pub const REDIS_AUTH: SecretFlag = SecretFlag {
    flag: "redis_auth",
    file_flag: "redis_auth_file",
    env: "TPC_REDIS_AUTH",
    what: "password",
};

/// The Slack API token.
pub const SLACK_TOKEN: SecretFlag = SecretFlag {
    flag: "token",
    file_flag: "token_file",
    env: "TPC_SLACK_TOKEN",
    what: "token",
};

/// The webhook URL: incoming-webhook URLs (Slack's, Mattermost's) hold their secret.
pub const WEBHOOK: SecretFlag = SecretFlag {
    flag: "webhook",
    file_flag: "webhook_file",
    env: "TPC_WEBHOOK_URL",
    what: "URL",
};

/// The sentinels' password.
pub const SENTINEL_PASSWORD: SecretFlag = SecretFlag {
    flag: "sentinel_password",
    file_flag: "sentinel_password_file",
    env: "TPC_SENTINEL_PASSWORD",
    what: "password",
};

impl SecretFlag {
    /// The secret from the flag's `value`, else from the `file` named, else from the
    /// environment (`env` looks a variable up); empty when none gives one. An empty flag
    /// value counts as not given. A file loses the line ending(s) it ends with and may
    /// not be empty.
    pub fn read(
        &self,
        value: Option<&str>,
        file: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Secret, UsageError> {
        match (value.filter(|v| !v.is_empty()), file) {
            (Some(_), Some(_)) => Err(UsageError::TwoSources(*self)),
            (Some(value), None) => Ok(Secret::new(value)),
            (None, Some(path)) => self.read_file(path),
            (None, None) => Ok(Secret::new(env(self.env).unwrap_or_default())),
        }
    }

    fn read_file(&self, path: &str) -> Result<Secret, UsageError> {
        let bad = |why: String| UsageError::BadFile {
            flag: self.file_flag,
            path: path.to_string(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            bad(format!(
                "{e}; give a readable file that holds the {}, on one line",
                self.what
            ))
        })?;
        let secret = text.trim_end_matches(['\r', '\n']);
        if secret.is_empty() {
            return Err(bad(format!(
                "it is empty; write the {} in it, on one line",
                self.what
            )));
        }
        Ok(Secret::new(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(name: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |n| (n == name).then(|| value.to_string())
    }

    #[test]
    fn a_flag_then_a_file_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\r\n").unwrap();
        let file = file.to_str().unwrap();
        for secret in [REDIS_AUTH, SLACK_TOKEN, SENTINEL_PASSWORD] {
            let env = env_with(secret.env, "from-env");
            let read = |value, file| {
                secret
                    .read(value, file, &env)
                    .map(|s| s.expose().to_string())
            };
            assert_eq!(read(Some("from-flag"), None).unwrap(), "from-flag");
            assert_eq!(read(None, Some(file)).unwrap(), "from-file");
            assert_eq!(read(Some(""), Some(file)).unwrap(), "from-file");
            assert_eq!(read(None, None).unwrap(), "from-env");
            assert_eq!(
                secret.read(None, None, |_| None).unwrap(),
                Secret::default()
            );
            let both = read(Some("x"), Some(file)).unwrap_err().to_string();
            assert!(
                both.contains(&format!("-{} or -{}", secret.flag, secret.file_flag)),
                "{both}"
            );
        }
    }

    #[test]
    fn a_missing_or_empty_file_names_its_flag_and_path() {
        let e = REDIS_AUTH
            .read(None, Some("/no/such/file"), |_| None)
            .unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("-redis_auth_file") && e.contains("/no/such/file"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("empty");
        std::fs::write(&file, "\n").unwrap();
        let e = SLACK_TOKEN
            .read(None, Some(file.to_str().unwrap()), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("-token_file") && e.contains("empty") && e.contains("token"),
            "{e}"
        );
    }
}

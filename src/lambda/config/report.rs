//! The report bucket (`REPORT_BUCKET`): where the access-removal reports are written,
//! checked against S3's rules for a bucket name at init, so a typo stops the deployment
//! rather than the first monthly report.

use super::{ConfigError, Vars};

/// Environment variable naming the report bucket.
pub const REPORT_BUCKET_VAR: &str = "REPORT_BUCKET";

/// The configured bucket, `None` when unset (reports are off).
pub(super) fn report_bucket(vars: &Vars) -> Result<Option<String>, ConfigError> {
    match vars.present(REPORT_BUCKET_VAR) {
        None => Ok(None),
        Some(name) if is_bucket_name(&name) => Ok(Some(name)),
        Some(_) => Err(ConfigError::InvalidReportBucket),
    }
}

/// S3's rules for a general purpose bucket's name: 3 to 63 lower-case letters, digits,
/// `.` and `-`, starting and ending with a letter or digit, no `..`, and not shaped as an
/// IP address.
pub(super) fn is_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-';
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&bytes.len())
        && bytes.iter().all(allowed)
        && edge(bytes.first())
        && edge(bytes.last())
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
}

#[cfg(test)]
mod tests {
    use super::is_bucket_name;

    #[test]
    fn a_bucket_name_follows_s3s_rules() {
        for good in ["reports", "merge-deprovision-reports-123", "a.b-c", "abc"] {
            assert!(is_bucket_name(good), "{good}");
        }
        for bad in [
            "ab",
            "Reports",
            "reports_2026",
            "-reports",
            "reports.",
            "a..b",
            "192.168.1.1",
            "s3://reports",
            &"a".repeat(64),
        ] {
            assert!(!is_bucket_name(bad), "{bad}");
        }
    }
}

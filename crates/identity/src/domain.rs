//! Parse, don't validate: values that are known good once constructed.

use nexus_kernel::ApiError;

/// An email address, trimmed and lowercased, so one person is one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim().to_lowercase();
        let bad = || ApiError::field(field, "must be an email address like name@example.com");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A human-readable name: 1 to `max` characters after trimming, no control characters.
pub fn parse_name(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(ApiError::field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// Passwords: 8 to 256 characters. Length is what matters (NIST SP 800-63B); no
/// composition rules.
pub fn check_password(field: &str, pw: &str) -> Result<(), ApiError> {
    let n = pw.chars().count();
    if n < 8 {
        return Err(ApiError::field(field, "must be at least 8 characters"));
    }
    if n > 256 {
        return Err(ApiError::field(field, "must be at most 256 characters"));
    }
    Ok(())
}

/// A URL-friendly slug from a name: lowercase ASCII letters, digits and dashes.
pub fn slugify(name: &str) -> String {
    slug_or(name, "workspace")
}

/// [`slugify`], or `fallback` when nothing of `name` is left: a slug for a URL or a file
/// name, with no character a path, a header or a shell could trip on.
pub fn slug_or(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { fallback.into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("email", "  Ada@Example.COM ")
                .map(|e| e.0)
                .ok(),
            Some("ada@example.com".into())
        );
        for bad in [
            "", "ada", "ada@", "@x.io", "a b@x.io", "ada@x", "a@@x.io", "ada@.io",
        ] {
            assert!(
                Email::parse("email", bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Acme, Inc. — R&D"), "acme-inc-r-d");
        assert_eq!(slugify("***"), "workspace");
    }
}

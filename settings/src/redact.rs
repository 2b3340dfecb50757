//! Masking secrets in URLs by their structure: the password of the user-info, and query
//! parameters that carry passwords. Never by searching text for the password, which would
//! mask innocent words equal to it and reveal it by the gaps.

use url::Url;

/// Query parameters whose value is a secret (compared case-insensitively).
const SECRET_PARAMS: &[&str] = &[
    "password",
    "pass",
    "pwd",
    "passwd",
    "sslpassword",
    "secret",
    "token",
    "auth",
];

/// Whether a URL query parameter named `name` carries a secret.
pub fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// The URL with every secret replaced by `***`, fit for messages, logs and `cli config`.
///
/// A URL whose password holds an unencoded `/`, `?` or `#` parses with part of the password
/// in its path; then everything up to the last `@` is masked. A URL that does not parse at
/// all shows only its scheme.
pub fn redact_url(raw: &str) -> String {
    if let Some((scheme, rest)) = misplaced_userinfo(raw) {
        return format!("{scheme}://***@{rest}");
    }
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() && url.set_password(Some("***")).is_err() {
                return hidden(raw);
            }
            if url.query_pairs().any(|(k, _)| is_secret_param(&k)) {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_secret_param(&k) {
                            "***".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            url.to_string()
        }
        Err(_) => hidden(raw),
    }
}

/// When the text after `scheme://` holds an `@` beyond where the URL parser ends the
/// user-info (or the URL does not parse): `(scheme, what follows the last @)`.
fn misplaced_userinfo(raw: &str) -> Option<(&str, &str)> {
    let (scheme, after) = raw.split_once("://")?;
    let at = after.rfind('@')?;
    let parsed_ok = Url::parse(raw).is_ok_and(|url| {
        // The parser took the user-info up to the first `/`, `?` or `#`; an `@` after that
        // belongs to a password it split.
        !url.path().contains('@')
            && !url.query().is_some_and(|q| q.contains('@'))
            && !url.fragment().is_some_and(|f| f.contains('@'))
    });
    (!parsed_ok).then(|| (scheme, &after[at + 1..]))
}

/// A hint for a URL whose user-info was split by an unencoded character, else `None`.
pub fn userinfo_hint(raw: &str) -> Option<&'static str> {
    misplaced_userinfo(raw).map(|_| {
        "the user name or password seems to contain an unencoded `/`, `?`, `#` or `@`; \
         percent-encode it (`/` is %2F, `?` %3F, `#` %23, `@` %40)"
    })
}

/// A URL the `url` crate cannot parse: a plain host list (`h1:7000,h2:7001`, every port a
/// number) is shown with any secret query parameter masked; anything else only by its scheme,
/// since `user:password` without a host would otherwise be shown whole.
fn hidden(raw: &str) -> String {
    match raw.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            let host_list = !authority.is_empty()
                && authority
                    .split(',')
                    .all(|host| match host.rsplit_once(':') {
                        Some((h, port)) => {
                            !h.is_empty()
                                && !port.is_empty()
                                && port.bytes().all(|b| b.is_ascii_digit())
                        }
                        None => !host.is_empty(),
                    })
                && authority
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:,[]".contains(&b));
            if !host_list || rest.contains('@') || rest.chars().any(char::is_control) {
                return format!("{scheme}://<rest hidden: not a valid URL>");
            }
            match rest.split_once('?') {
                None => format!("{scheme}://{rest}"),
                Some((before, query)) => {
                    let masked: Vec<String> = query
                        .split('&')
                        .map(|pair| match pair.split_once('=') {
                            Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
                            _ => pair.to_owned(),
                        })
                        .collect();
                    format!("{scheme}://{before}?{}", masked.join("&"))
                }
            }
        }
        _ => "<hidden: not a valid URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_only_the_password() {
        assert_eq!(
            redact_url("mysql://app:s3cr%40t@db.example:3306/my_flask"),
            "mysql://app:***@db.example:3306/my_flask"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("sqlite://students.db?mode=rwc"),
            "sqlite://students.db?mode=rwc"
        );
    }

    #[test]
    fn masks_password_query_parameters() {
        let shown = redact_url("postgres://u@h/db?sslmode=disable&password=hunter22");
        assert_eq!(shown, "postgres://u@h/db?sslmode=disable&password=***");
        assert!(!redact_url("postgres://h/db?PASSWORD=x1y2").contains("x1y2"));
    }

    #[test]
    fn a_password_equal_to_a_word_is_not_searched_for() {
        // Masking by structure: the user name `user` stays, though the password is `user`.
        assert_eq!(
            redact_url("mysql://user:user@h/db"),
            "mysql://user:***@h/db"
        );
    }

    #[test]
    fn an_unencoded_slash_in_the_password_hides_everything_before_the_last_at() {
        for raw in [
            "mysql://app:pa/ss@h:3306/db",
            "mysql://app:123/ss@h/db",
            "mysql://app:pa#ss@h/db",
            "mysql://app:pa?ss@h/db",
        ] {
            let shown = redact_url(raw);
            assert!(!shown.contains("ss@"), "{raw} → {shown}");
            assert!(!shown.contains("pa"), "{raw} → {shown}");
            assert!(userinfo_hint(raw).is_some(), "{raw}");
        }
        assert_eq!(redact_url("mysql://app:123/ss@h/db"), "mysql://***@h/db");
        assert!(userinfo_hint("mysql://app:p%2Fss@h/db").is_none());
    }

    #[test]
    fn host_lists_show_their_hosts_and_never_a_password() {
        assert_eq!(
            redact_url("redis-cluster://127.0.0.1:7000,127.0.0.1:7001"),
            "redis-cluster://127.0.0.1:7000,127.0.0.1:7001"
        );
        assert_eq!(
            redact_url("redis-sentinel://:pw99@h1:26379,h2:26379/mymaster"),
            "redis-sentinel://***@h1:26379,h2:26379/mymaster"
        );
        assert_eq!(
            redact_url("mysql://h1:3306,h2:3306/db?password=x1&charset=utf8mb4"),
            "mysql://h1:3306,h2:3306/db?password=***&charset=utf8mb4"
        );
    }

    #[test]
    fn unparseable_urls_show_only_their_scheme() {
        assert_eq!(
            redact_url("not a url topsecret"),
            "<hidden: not a valid URL>"
        );
        let shown = redact_url("mysql://u:topsecret");
        assert!(!shown.contains("topsecret"), "{shown}");
    }
}

//! How the AI benchmark reaches PostgreSQL. It runs on the benchmark's machine, where TLS
//! protects nothing and costs CPU at both ends of every round trip. The test kit's URL
//! leaves `sslmode` to sqlx's default, `prefer`, which turns TLS on wherever the server
//! offers it (Debian's PostgreSQL does, with a self-signed certificate); at 500 AI
//! streams held open that cost about 6% of the machine's CPU per stream, split between
//! Nexus and PostgreSQL. A deployment with its database on the same host would not pay
//! it (see docs/operations.md), so the benchmark asks for no TLS unless the URL
//! (`NEXUS_TEST_DATABASE_URL`) names an `sslmode` of its own.

/// Adds `sslmode=disable` to `url` if it is a PostgreSQL URL that names no `sslmode`.
pub fn without_tls(url: &mut Option<String>) {
    let Some(mut parsed) = url.as_deref().and_then(|u| reqwest::Url::parse(u).ok()) else {
        return;
    };
    if !matches!(parsed.scheme(), "postgres" | "postgresql")
        || parsed.query_pairs().any(|(name, _)| name == "sslmode")
    {
        return;
    }
    parsed.query_pairs_mut().append_pair("sslmode", "disable");
    *url = Some(parsed.into());
}

#[cfg(test)]
mod tests {
    use super::without_tls;

    fn after(url: Option<&str>) -> Option<String> {
        let mut url = url.map(str::to_owned);
        without_tls(&mut url);
        url
    }

    #[test]
    fn a_postgres_url_without_sslmode_asks_for_no_tls() {
        assert_eq!(
            after(Some("postgres://nexus_app@127.0.0.1:5432/nexus_t_1")).as_deref(),
            Some("postgres://nexus_app@127.0.0.1:5432/nexus_t_1?sslmode=disable")
        );
        assert_eq!(
            after(Some("postgresql://u@db/n?application_name=bench")).as_deref(),
            Some("postgresql://u@db/n?application_name=bench&sslmode=disable")
        );
    }

    #[test]
    fn an_sslmode_of_its_own_is_kept() {
        let url = "postgres://u@db/n?sslmode=require";
        assert_eq!(after(Some(url)).as_deref(), Some(url));
    }

    #[test]
    fn other_urls_and_none_are_left_alone() {
        assert_eq!(after(None), None);
        let sqlite = "sqlite:///tmp/nexus.db?mode=rwc";
        assert_eq!(after(Some(sqlite)).as_deref(), Some(sqlite));
    }
}

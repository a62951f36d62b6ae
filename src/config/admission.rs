//! Whether a change of the settings may be written: the one rule of `fedbridge config set` /
//! `unset` and the installer, so that what they report done is what the servers put in service.
//!
//! - Valid afterwards: written, and in service.
//! - First setup: the configuration was not valid before, and afterwards the only problems are
//!   settings still missing ([`Problem::missing`]): written, and not in service until they are
//!   set (so the mandatory settings can be given one at a time).
//! - Anything else is refused and nothing is written: a change that leaves any bad value, any
//!   clash between settings or half of a pair, whether the change made it or a row it did not
//!   touch holds it (the server would keep the last valid configuration, and a change reported
//!   done, such as removing a compromised IdP certificate, would never take effect).

use crate::config::{Loaded, Problem};

/// The verdict on a change (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Valid afterwards: write; these are the warnings of the new configuration.
    Valid {
        /// Not fatal, worth saying.
        warnings: Vec<Problem>,
    },
    /// First setup: write; the configuration is not in service until these are set.
    FirstSetup {
        /// The settings still missing.
        missing: Vec<Problem>,
    },
    /// Do not write.
    Refused {
        /// The configuration was valid before the change (and would not be after it).
        valid_before: bool,
        /// What blocks the change: every problem that is not a setting still missing, and,
        /// when the configuration was valid before, those too.
        problems: Vec<Problem>,
    },
}

/// Judges a change from the loads of the rows before and after it.
pub fn admission(
    before: &Result<Loaded, Vec<Problem>>,
    after: &Result<Loaded, Vec<Problem>>,
) -> Admission {
    let problems = match after {
        Ok(loaded) => {
            return Admission::Valid {
                warnings: loaded.warnings.clone(),
            };
        }
        Err(problems) => problems,
    };
    if before.is_ok() {
        return Admission::Refused {
            valid_before: true,
            problems: problems.clone(),
        };
    }
    let (missing, blocking): (Vec<Problem>, Vec<Problem>) =
        problems.iter().cloned().partition(|p| p.missing);
    if blocking.is_empty() {
        Admission::FirstSetup { missing }
    } else {
        Admission::Refused {
            valid_before: false,
            problems: blocking,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::load;

    const ACS: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";

    fn rows(pairs: &[(&str, &str)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
            .collect()
    }

    fn judge(before: &[(&str, &str)], after: &[(&str, &str)]) -> Admission {
        admission(&load(&rows(before)), &load(&rows(after)))
    }

    #[test]
    fn first_setup_goes_on_while_only_settings_are_missing() {
        let verdict = judge(&[], &[("SAML_CONSUMER_URL", ACS)]);
        let Admission::FirstSetup { missing } = verdict else {
            panic!("{verdict:?}");
        };
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].message.starts_with("no IdP is configured"));
        let verdict = judge(
            &[("SAML_CONSUMER_URL", ACS)],
            &[
                ("SAML_CONSUMER_URL", ACS),
                ("SAML_REDIRECT_URL", "https://idp.example.com/sso"),
            ],
        );
        assert!(
            matches!(&verdict, Admission::FirstSetup { missing } if missing[0].key == "SAML_SIGNING_CERTIFICATE"),
            "{verdict:?}"
        );
    }

    #[test]
    fn an_invalid_row_anywhere_blocks_every_change() {
        // The change itself is fine; the row it does not touch is not.
        let bad = [
            ("SAML_CONSUMER_URL", ACS),
            ("SAML_METADATA_URL", "https://idp.example.com/md"),
            ("FEDBRIDGE_CLOCK_SKEW", "90 s"),
        ];
        let mut after = bad.to_vec();
        after.push(("SAML_AUTOMATIC_LOGIN", "1"));
        let verdict = judge(&bad, &after);
        let Admission::Refused {
            valid_before: false,
            problems,
        } = verdict
        else {
            panic!("{verdict:?}");
        };
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "FEDBRIDGE_CLOCK_SKEW");
        // Even during first setup.
        let verdict = judge(
            &[("FEDBRIDGE_CLOCK_SKEW", "90 s")],
            &[("FEDBRIDGE_CLOCK_SKEW", "90 s"), ("SAML_CONSUMER_URL", ACS)],
        );
        assert!(
            matches!(&verdict, Admission::Refused { valid_before: false, problems } if problems.len() == 1),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_valid_configuration_never_becomes_incomplete() {
        let valid = [
            ("SAML_CONSUMER_URL", ACS),
            ("SAML_METADATA_URL", "https://idp.example.com/md"),
        ];
        let verdict = judge(&valid, &valid[1..]);
        assert!(
            matches!(&verdict, Admission::Refused { valid_before: true, problems } if problems[0].missing),
            "{verdict:?}"
        );
        assert!(matches!(judge(&valid, &valid), Admission::Valid { .. }));
    }
}

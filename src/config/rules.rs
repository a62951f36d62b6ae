//! The cross-key rules that `required` names in the schema. Which settings take part in a rule
//! comes from the schema; what the rule means is here.

use crate::config::Problem;
use crate::config::load::{Slots, State};
use crate::config::schema::SettingDef;
use crate::config::value::Value;

/// One IdP scenario: the metadata settings, or the public-key ones.
const IDP_SCENARIO: &str = "idp_scenario";
/// Every public-key setting is required when no metadata setting is given.
const PUBLIC_KEY_SCENARIO: &str = "public_key_scenario";
/// Private key and certificate: both or neither, and they match.
const SP_KEY_PAIR: &str = "sp_key_pair";
/// Half the body memory budget holds one ACS body of the largest allowed response.
const BODY_BUDGET: &str = "body_budget";

/// Every rule implemented here; a schema test checks it against `[rules]`.
pub const RULES: &[&str] = &[IDP_SCENARIO, PUBLIC_KEY_SCENARIO, SP_KEY_PAIR, BODY_BUDGET];

/// Applies every rule: problems for what is missing or inconsistent, warnings for what is
/// ignored. Ignored settings become unset.
pub(crate) fn apply(
    slots: &mut Slots<'_>,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    idp_scenario(slots, problems, warnings);
    sp_key_pair(slots, problems);
    body_budget(slots);
}

/// Large bodies share half of `FEDBRIDGE_BODY_MEMORY_BUDGET`: that half must hold one ACS body
/// of the largest response `FEDBRIDGE_MAX_RESPONSE_BYTES` allows, or no such response could
/// ever be read. Defaults apply afterwards, so a missing member means its default.
fn body_budget(slots: &mut Slots<'_>) {
    let members = slots.members(BODY_BUDGET);
    let value = |slots: &Slots<'_>, def: &SettingDef| match slots.slot(&def.name).map(|s| &s.state)
    {
        Some(State::Given(Value::Integer(n))) => Some(*n),
        Some(State::Unset) => def.default.as_deref().and_then(|d| d.parse().ok()),
        _ => None, // invalid: reported as such
    };
    let (Some(response_def), Some(budget_def)) = (
        members
            .iter()
            .find(|d| d.name == crate::config::keys::FEDBRIDGE_MAX_RESPONSE_BYTES),
        members
            .iter()
            .find(|d| d.name == crate::config::keys::FEDBRIDGE_BODY_MEMORY_BUDGET),
    ) else {
        return;
    };
    let (Some(response), Some(budget)) = (value(slots, response_def), value(slots, budget_def))
    else {
        return;
    };
    let cap = crate::config::acs_body_cap(usize::try_from(response).unwrap_or(usize::MAX));
    let needed = cap.saturating_mul(2);
    if usize::try_from(budget).unwrap_or(0) >= needed {
        return;
    }
    let message = format!(
        "is {budget} bytes: half of it must hold one ACS body of the largest response that \
         {} = {response} allows ({cap} bytes), so it must be at least {needed}",
        response_def.name
    );
    // The budget is what to raise; when it was left at its default, the response limit is
    // what was changed.
    let at_fault = if slots.is_present(&budget_def.name) || !slots.is_present(&response_def.name) {
        budget_def
    } else {
        response_def
    };
    let message = if at_fault.name == response_def.name {
        format!(
            "is {response} bytes: one ACS body of a response this large ({cap} bytes) needs \
             {} of at least {needed} (now {budget}); raise both together",
            budget_def.name
        )
    } else {
        message
    };
    if let Some(slot) = slots.slot_mut(&at_fault.name) {
        slot.state = State::Invalid(message);
    }
}

/// Metadata wins over the public-key settings; without metadata, every public-key setting is
/// required; with neither, one problem names them all.
fn idp_scenario(slots: &mut Slots<'_>, problems: &mut Vec<Problem>, warnings: &mut Vec<Problem>) {
    let metadata = slots.members(IDP_SCENARIO);
    let public_key = slots.members(PUBLIC_KEY_SCENARIO);
    let names = |defs: &[&SettingDef]| {
        defs.iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let metadata_names = names(&metadata);
    if let Some(given) = metadata.iter().find(|d| slots.is_present(&d.name)) {
        for def in &public_key {
            let Some(slot) = slots.slot_mut(&def.name) else {
                continue;
            };
            let invalid = match &slot.state {
                State::Unset => continue,
                State::Given(_) => String::new(),
                State::Invalid(message) => format!("; its value is invalid anyway: {message}"),
            };
            warnings.push(Problem {
                key: def.name.clone(),
                message: format!(
                    "is ignored because {} is set (the metadata gives the IdP's SSO URL and certificates){invalid}",
                    given.name
                ),
                example: None,
                missing: false,
            });
            slot.state = State::Unset;
        }
        return;
    }
    let (present, missing): (Vec<&SettingDef>, Vec<&SettingDef>) = public_key
        .iter()
        .copied()
        .partition(|d| slots.is_present(&d.name));
    if present.is_empty() {
        if let Some(first) = metadata.first() {
            problems.push(Problem::missing(
                first,
                format!(
                    "no IdP is configured: set {metadata_names} (metadata scenario), or {} (public-key scenario)",
                    names(&public_key)
                ),
            ));
        }
        return;
    }
    for def in missing {
        problems.push(Problem::missing(
            def,
            format!(
                "is required in the public-key scenario ({} is set and {metadata_names} is not)",
                names(&present)
            ),
        ));
    }
}

/// The SP private key and certificate come together, and the certificate is the key's.
fn sp_key_pair(slots: &mut Slots<'_>, problems: &mut Vec<Problem>) {
    let members = slots.members(SP_KEY_PAIR);
    let (present, missing): (Vec<&SettingDef>, Vec<&SettingDef>) = members
        .iter()
        .copied()
        .partition(|d| slots.is_present(&d.name));
    if present.is_empty() {
        return;
    }
    for def in &missing {
        let given = present
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(" and ");
        problems.push(Problem::about(
            def,
            format!("is required because {given} is set (the SP key pair needs both)"),
        ));
    }
    if !missing.is_empty() {
        return;
    }
    let mut private = None;
    let mut certificate = None;
    for def in &members {
        match slots.slot(&def.name).map(|s| &s.state) {
            Some(State::Given(Value::PrivateKey(key, _))) => private = Some((def, key)),
            Some(State::Given(Value::Certificates(certs, _))) => certificate = Some((def, certs)),
            _ => {}
        }
    }
    let (Some((private_def, key)), Some((cert_def, certs))) = (private, certificate) else {
        return; // one of them is invalid, and reported as such
    };
    let message = match certs.as_slice() {
        [cert] if cert.public_key().public_eq(key.private_key()) => return,
        [_] => format!("does not hold the public key of {}", private_def.name),
        _ => format!(
            "holds {} certificates; the SP key pair takes exactly one",
            certs.len()
        ),
    };
    if let Some(slot) = slots.slot_mut(&cert_def.name) {
        slot.state = State::Invalid(message);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::schema::{Required, schema};

    fn members(rule: &str) -> Vec<&'static str> {
        schema()
            .unwrap()
            .settings
            .iter()
            .filter(|s| matches!(&s.required, Required::Rule(r) if r == rule))
            .map(|s| s.name.as_str())
            .collect()
    }

    #[test]
    fn rule_members_are_the_expected_settings() {
        assert_eq!(members(super::IDP_SCENARIO), ["SAML_METADATA_URL"]);
        assert_eq!(
            members(super::PUBLIC_KEY_SCENARIO),
            ["SAML_REDIRECT_URL", "SAML_SIGNING_CERTIFICATE"]
        );
        assert_eq!(
            members(super::SP_KEY_PAIR),
            ["FEDBRIDGE_SP_PRIVATE_KEY", "FEDBRIDGE_SP_CERTIFICATE"]
        );
        assert_eq!(
            members(super::BODY_BUDGET),
            [
                "FEDBRIDGE_MAX_RESPONSE_BYTES",
                "FEDBRIDGE_BODY_MEMORY_BUDGET"
            ]
        );
    }
}

//! The names of the profile settings, read from `ProfileDraft`'s own serde definition (so the
//! reference page and the "did you mean" suggestion cannot drift from the parser).

use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::{AgentDraft, AwsDraft, ProfileDraft};

/// Where the settings are described, for messages that point the user at the list.
pub const SETTINGS_REFERENCE: &str = "docs/configuration.md";

/// The sub-tables of a profile whose keys are checked (`authorize_params` takes any name).
pub(super) const SUB_TABLES: [&str; 2] = ["aws", "agent"];

/// Every key a `[profiles.NAME]` table accepts, in declaration order, then the keys of its
/// sub-tables as `aws.KEY` and `agent.KEY` (`authorize_params` takes any parameter name).
pub fn setting_names() -> Vec<String> {
    let profile = fields_of::<ProfileDraft>().iter().map(|k| k.to_string());
    let nested = SUB_TABLES.iter().flat_map(|table| {
        keys_of(Some(table))
            .iter()
            .map(move |k| format!("{table}.{k}"))
    });
    profile.chain(nested).collect()
}

/// The keys of the profile table (`None`) or of its sub-table `table`.
fn keys_of(table: Option<&str>) -> &'static [&'static str] {
    match table {
        Some("aws") => fields_of::<AwsDraft>(),
        Some("agent") => fields_of::<AgentDraft>(),
        _ => fields_of::<ProfileDraft>(),
    }
}

/// The known key closest to the misspelt `key` (`scope` → `scopes`), if one is close enough
/// to be what was meant; `table` looks among that sub-table's keys instead (`aws`, `agent`).
pub(super) fn closest_setting(key: &str, table: Option<&str>) -> Option<String> {
    let known = keys_of(table);
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score >= SIMILAR_ENOUGH)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.to_owned())
}

/// The fix of an unknown key: the key meant, if any, and where every setting is described.
pub(super) fn unknown_key_fix(did_you_mean: Option<&str>) -> String {
    let remove =
        format!("correct or remove it (every setting is described in {SETTINGS_REFERENCE})");
    match did_you_mean {
        Some(known) => format!("did you mean `{known}`? Otherwise {remove}"),
        None => remove,
    }
}

/// Jaro-Winkler similarity from which a known key is offered as the one meant (clap's own
/// suggestion threshold is of this order; `scope`/`scopes` scores 0.97).
const SIMILAR_ENOUGH: f64 = 0.85;

/// The field names `T`'s derived `Deserialize` asks for: a deserializer that only records the
/// `fields` handed to `deserialize_struct` and stops there.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldRecorder {
        fields: &mut fields,
    });
    fields
}

struct FieldRecorder<'a> {
    fields: &'a mut &'static [&'static str],
}

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Recorded
    }
}

impl<'de> Deserializer<'de> for FieldRecorder<'_> {
    type Error = Recorded;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Recorded> {
        *self.fields = fields;
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_come_from_the_drafts() {
        let names = setting_names();
        for key in [
            "client_id",
            "scopes",
            "clock_leeway_secs",
            "aws",
            "aws.role_arn",
        ] {
            assert!(names.iter().any(|n| n == key), "{key} in {names:?}");
        }
    }

    #[test]
    fn a_near_miss_gets_the_key_meant_and_nonsense_gets_none() {
        assert_eq!(closest_setting("scope", None).as_deref(), Some("scopes"));
        assert_eq!(
            closest_setting("client_idd", None).as_deref(),
            Some("client_id")
        );
        assert_eq!(
            closest_setting("rol_arn", Some("aws")).as_deref(),
            Some("role_arn")
        );
        assert_eq!(closest_setting("zzzz", None), None);
    }
}

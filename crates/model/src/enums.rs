use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Ags, ParseError};

/// Declares a closed set of words with its wire spelling, `FromStr`,
/// `Display` and serde in one place, so the spelling cannot drift between the
/// CLI, the database and the HTTP API.
macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[doc = concat!("Written `", $text, "`.")] #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in lifecycle or declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The spelling used in files, the database and JSON.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(ParseError::Enum {
                        what: $what,
                        value: s.to_owned(),
                        allowed: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// A radio technology the targets speak of.
    Technology, "technology" {
        Lte => "lte",
        /// 5G NR in any mode (DSS, NSA, SA): the regulator's `nr_gesamt`.
        Nr => "5g",
    }
);

word_enum!(
    /// Lifecycle of a mobile site (`Standort`).
    SiteStatus, "site status" {
        Planned => "planned",
        Permitting => "permitting",
        Construction => "construction",
        OnAir => "on_air",
        Decommissioned => "decommissioned",
    }
);

word_enum!(
    /// What a build measure (`Maßnahme`) does; the targets count these.
    MeasureKind, "measure kind" {
        FiveGUpgrade => "5g_upgrade",
        LteNewSite => "lte_new_site",
        LteUpgrade => "lte_upgrade",
    }
);

word_enum!(
    /// Progress of a measure.
    MeasureStatus, "measure status" {
        Planned => "planned",
        InProgress => "in_progress",
        Completed => "completed",
    }
);

word_enum!(
    /// Which coverage a computation run uses (crates/coverage/README.md).
    CoverageSource, "coverage source" {
        /// The imported grid as published.
        Reported => "reported",
        /// Disks around on-air sites.
        Modelled => "modelled",
        /// Per technology the larger operator count; operator sets united.
        Union => "union",
    }
);

impl SiteStatus {
    /// The states a site may move to from this one. Staying put is always
    /// allowed (an update of other fields); going back is not, because a
    /// built site does not become a plan again — it is decommissioned.
    #[must_use]
    pub fn next(self) -> &'static [SiteStatus] {
        use SiteStatus::{Construction, Decommissioned, OnAir, Permitting, Planned};
        match self {
            Planned => &[Permitting, Construction, OnAir, Decommissioned],
            Permitting => &[Construction, OnAir, Decommissioned],
            Construction => &[OnAir, Decommissioned],
            OnAir => &[Decommissioned],
            Decommissioned => &[],
        }
    }

    /// Whether `self → to` is a legal transition (or no change).
    #[must_use]
    pub fn can_become(self, to: SiteStatus) -> bool {
        self == to || self.next().contains(&to)
    }

    /// Whether a site in this state is or was on air (and so may carry an
    /// `on_air_date`): on air, or decommissioned after having been.
    #[must_use]
    pub const fn has_been_on_air(self) -> bool {
        matches!(self, Self::OnAir | Self::Decommissioned)
    }
}

impl MeasureStatus {
    /// The states a measure may move to from this one; `completed` is final.
    #[must_use]
    pub fn next(self) -> &'static [MeasureStatus] {
        use MeasureStatus::{Completed, InProgress, Planned};
        match self {
            Planned => &[InProgress, Completed],
            InProgress => &[Completed],
            Completed => &[],
        }
    }

    /// Whether `self → to` is a legal transition (or no change).
    #[must_use]
    pub fn can_become(self, to: MeasureStatus) -> bool {
        self == to || self.next().contains(&to)
    }
}

impl MeasureKind {
    /// The technology a completed measure of this kind puts on air at its site.
    ///
    /// # Examples
    /// ```
    /// use funkplan_model::{MeasureKind, Technology};
    /// assert_eq!(MeasureKind::FiveGUpgrade.technology(), Technology::Nr);
    /// assert_eq!(MeasureKind::LteNewSite.technology(), Technology::Lte);
    /// ```
    #[must_use]
    pub const fn technology(self) -> Technology {
        match self {
            Self::FiveGUpgrade => Technology::Nr,
            Self::LteNewSite | Self::LteUpgrade => Technology::Lte,
        }
    }
}

/// What an API token may do.
///
/// # Examples
/// ```
/// use funkplan_model::Role;
/// let r: Role = "municipality:05111000".parse().unwrap();
/// assert_eq!(r.to_string(), "municipality:05111000");
/// assert!(r.may_write_for(Some(&"05111000".parse().unwrap())));
/// assert!(!r.may_write_for(Some(&"05315000".parse().unwrap())));
/// assert!("root".parse::<Role>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Role {
    /// Everything, including token management.
    Admin,
    /// Rollout staff: record sites and measures anywhere.
    Staff,
    /// A municipality: may only file for its own AGS.
    Municipality(Ags),
}

impl Role {
    /// Whether this role may write an object located in municipality `ags`
    /// (`None` when the object lies in no known municipality).
    #[must_use]
    pub fn may_write_for(&self, ags: Option<&Ags>) -> bool {
        match self {
            Self::Admin | Self::Staff => true,
            Self::Municipality(own) => ags == Some(own),
        }
    }
}

impl FromStr for Role {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "staff" => Ok(Self::Staff),
            _ => match s.strip_prefix("municipality:") {
                Some(a) => Ok(Self::Municipality(a.parse()?)),
                None => Err(ParseError::Enum {
                    what: "role",
                    value: s.to_owned(),
                    allowed: "admin staff municipality:<AGS>",
                }),
            },
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admin => f.write_str("admin"),
            Self::Staff => f.write_str("staff"),
            Self::Municipality(a) => write!(f, "municipality:{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for t in Technology::ALL {
            assert_eq!(t.as_str().parse::<Technology>().unwrap(), *t);
        }
        for s in SiteStatus::ALL {
            assert_eq!(s.as_str().parse::<SiteStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
        for k in MeasureKind::ALL {
            assert_eq!(k.as_str().parse::<MeasureKind>().unwrap(), *k);
        }
    }

    #[test]
    fn unknown_word_names_the_choices() {
        let e = "onair".parse::<SiteStatus>().unwrap_err().to_string();
        assert_eq!(
            e,
            "\"onair\" is not a site status; expected one of: planned permitting construction on_air decommissioned"
        );
    }

    #[test]
    fn lifecycle_only_moves_forward() {
        use SiteStatus::*;
        assert!(Planned.can_become(OnAir));
        assert!(OnAir.can_become(OnAir));
        assert!(!OnAir.can_become(Planned));
        assert!(!Decommissioned.can_become(OnAir));
        assert!(!MeasureStatus::Completed.can_become(MeasureStatus::Planned));
    }
}

//! Staged rollouts: canary tenants first, then waves of growing cumulative shares. Pure functions;
//! the fan-out runs one stage after the other and stops when a stage has a failure.

use crate::OrgId;

/// How a fan-out is staged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollout {
    /// Tenants migrated first, as their own stage.
    pub canary: Canary,
    /// Cumulative shares of the target set, in percent (`[1.0, 10.0, 100.0]`); empty: one stage.
    pub waves: Vec<f64>,
}

/// The canary stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Canary {
    /// No canary.
    #[default]
    None,
    /// The N oldest tenants in registry order.
    First(usize),
    /// These tenants.
    Named(Vec<OrgId>),
}

/// A rollout specification that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// `--waves` is malformed.
    #[error("--waves `{0}`: {1}")]
    Waves(String, &'static str),
}

/// Parses `--waves 1%,10%,100%`: increasing cumulative percentages, the last one 100%.
pub fn parse_waves(text: &str) -> Result<Vec<f64>, RolloutError> {
    let bad = |why| RolloutError::Waves(text.to_owned(), why);
    let mut waves = Vec::new();
    for part in text.split(',') {
        let number = part.trim().strip_suffix('%').ok_or_else(|| bad("each wave is a percentage such as 10%"))?;
        let share: f64 = number.trim().parse().map_err(|_| bad("each wave is a percentage such as 10%"))?;
        if !(share > 0.0 && share <= 100.0) {
            return Err(bad("percentages must be above 0% and at most 100%"));
        }
        if waves.last().is_some_and(|&last| share <= last) {
            return Err(bad("percentages are cumulative and must increase"));
        }
        waves.push(share);
    }
    if waves.last() != Some(&100.0) {
        return Err(bad("the last wave must be 100%"));
    }
    Ok(waves)
}

/// Where each stage ends (exclusive indices into the ordered targets), given `canary` tenants first.
/// Every stage holds at least one tenant; the last ends at `total`.
pub(crate) fn stage_ends(total: usize, canary: usize, waves: &[f64]) -> Vec<usize> {
    let mut ends = Vec::new();
    let canary = canary.min(total);
    if canary > 0 {
        ends.push(canary);
    }
    for share in waves {
        let previous = ends.last().copied().unwrap_or(0);
        if previous >= total {
            break;
        }
        // Cumulative share of the whole target set, rounded up, at least one tenant more.
        let wanted = ((total as f64) * share / 100.0).ceil() as usize;
        ends.push(wanted.max(previous + 1).min(total));
    }
    if ends.last().copied().unwrap_or(0) < total {
        ends.push(total);
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_parse_and_validate() {
        assert_eq!(parse_waves("1%, 10%,100%").unwrap(), vec![1.0, 10.0, 100.0]);
        assert!(parse_waves("10%,5%,100%").is_err());
        assert!(parse_waves("10%,50%").is_err());
        assert!(parse_waves("10,100").is_err());
        assert!(parse_waves("0%,100%").is_err());
    }

    #[test]
    fn stages_round_up_and_hold_at_least_one_tenant() {
        assert_eq!(stage_ends(1000, 0, &[1.0, 10.0, 100.0]), vec![10, 100, 1000]);
        assert_eq!(stage_ends(50, 0, &[1.0, 10.0, 100.0]), vec![1, 5, 50]);
        assert_eq!(stage_ends(3, 0, &[1.0, 2.0, 50.0, 100.0]), vec![1, 2, 3]);
        assert_eq!(stage_ends(10, 2, &[]), vec![2, 10]);
        assert_eq!(stage_ends(10, 2, &[10.0, 100.0]), vec![2, 3, 10]);
        assert_eq!(stage_ends(2, 5, &[]), vec![2]);
        assert_eq!(stage_ends(0, 0, &[]), Vec::<usize>::new());
        assert_eq!(stage_ends(7, 0, &[]), vec![7]);
    }
}

//! The sentinels tpc hears from: a small id for each, whether its link is up, and
//! whether it has answered since start, which decides when start-up ends.

use std::collections::BTreeMap;

use crate::core::time::Millis;
use crate::core::truth::SentinelId;

/// One sentinel's link.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    name: String,
    /// Up, down, or not said yet (a recording may carry answers without link inputs).
    up: Option<bool>,
    answered: bool,
}

/// What a link change did to reachability as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// No change worth saying.
    Same,
    /// The last reachable sentinel was lost.
    LostAll,
    /// A sentinel is reachable again after all were lost.
    Regained,
}

/// Every sentinel heard of, by id.
#[derive(Debug, Clone, Default)]
pub struct Links {
    links: Vec<Link>,
    ids: BTreeMap<String, SentinelId>,
    lost_all: bool,
    /// When the first answer came, which starts the start-up grace.
    first_answer: Option<Millis>,
    started: bool,
}

impl Links {
    /// The id of `name`, given on first sight.
    pub fn id(&mut self, name: &str) -> SentinelId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = SentinelId(self.links.len() as u32);
        self.links.push(Link {
            name: name.to_string(),
            up: None,
            answered: false,
        });
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The name of `id`.
    pub fn name(&self, id: SentinelId) -> &str {
        self.links
            .get(id.0 as usize)
            .map_or("?", |l| l.name.as_str())
    }

    /// Notes a link going up or down; says whether reachability as a whole changed.
    pub fn set_up(&mut self, id: SentinelId, up: bool) -> Reach {
        let any_before = self.any_up();
        if let Some(l) = self.links.get_mut(id.0 as usize) {
            l.up = Some(up);
        }
        let any_now = self.any_up();
        let reach = match (any_before, any_now) {
            (true, false) => Reach::LostAll,
            (false, true) if self.lost_all => Reach::Regained,
            _ => Reach::Same,
        };
        if any_before && !any_now {
            self.lost_all = true;
        } else if any_now {
            self.lost_all = false;
        }
        reach
    }

    /// Whether the link to `id` was up.
    pub fn is_up(&self, id: SentinelId) -> bool {
        self.links
            .get(id.0 as usize)
            .is_some_and(|l| l.up == Some(true))
    }

    /// Each sentinel heard of, in the order first heard, with whether its link is up.
    pub fn states(&self) -> impl Iterator<Item = (&str, bool)> {
        self.links
            .iter()
            .map(|l| (l.name.as_str(), l.up == Some(true)))
    }

    fn any_up(&self) -> bool {
        self.links.iter().any(|l| l.up == Some(true))
    }

    /// Notes that `id` answered a query.
    pub fn answered(&mut self, id: SentinelId, now: Millis) {
        if let Some(l) = self.links.get_mut(id.0 as usize) {
            l.answered = true;
        }
        self.heard(now);
    }

    /// Notes that some sentinel reported a master (an answer or a `+monitor`): the
    /// start-up grace runs from the first report.
    pub fn heard(&mut self, now: Millis) {
        self.first_answer.get_or_insert(now);
    }

    /// Ends start-up once every sentinel answered or is known down (`expected` of them
    /// when given, else every one heard of), or `grace` has passed since the first
    /// report. Until then the file on disk is not touched.
    pub fn check_started(&mut self, expected: usize, grace: Millis, now: Millis) {
        if self.started {
            return;
        }
        let Some(first) = self.first_answer else {
            return;
        };
        let settled = self
            .links
            .iter()
            .filter(|l| l.answered || l.up == Some(false))
            .count();
        self.started = settled >= expected.max(self.links.len()) || now >= first + grace;
    }

    /// Whether start-up is over.
    pub fn started(&self) -> bool {
        self.started
    }

    /// When start-up ends at the latest, while it has not.
    pub fn start_deadline(&self, grace: Millis) -> Option<Millis> {
        match (self.started, self.first_answer) {
            (false, Some(first)) => Some(first + grace),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_ends_when_every_sentinel_answered_or_the_grace_passed() {
        let mut links = Links::default();
        let (a, b, c) = (links.id("a"), links.id("b"), links.id("c"));
        let grace = Millis(1_000);
        let started = |links: &mut Links, at: u64| {
            links.check_started(3, grace, Millis(at));
            links.started()
        };
        assert!(!started(&mut links, 0));
        links.answered(a, Millis(10));
        assert!(!started(&mut links, 10));
        assert_eq!(links.start_deadline(grace), Some(Millis(1_010)));
        links.set_up(b, false);
        links.answered(c, Millis(20));
        assert!(started(&mut links, 20));
        assert_eq!(links.start_deadline(grace), None);

        let mut slow = Links::default();
        let a = slow.id("a");
        slow.id("b");
        slow.answered(a, Millis(10));
        assert!(!started(&mut slow, 1_009));
        assert!(started(&mut slow, 1_010));
    }

    #[test]
    fn losing_every_link_and_regaining_one_is_said_once() {
        let mut links = Links::default();
        let (a, b) = (links.id("a"), links.id("b"));
        assert_eq!(links.set_up(a, true), Reach::Same);
        assert_eq!(links.set_up(b, true), Reach::Same);
        assert_eq!(links.set_up(a, false), Reach::Same);
        assert_eq!(links.set_up(b, false), Reach::LostAll);
        assert_eq!(links.set_up(b, false), Reach::Same);
        assert_eq!(links.set_up(a, true), Reach::Regained);
        assert_eq!(links.set_up(b, true), Reach::Same);
    }
}

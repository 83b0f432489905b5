//! Connection recycling. A PostgreSQL backend caches catalog entries of every relation it touches
//! (several KB each) and never forgets them: a connection that served thousands of tenant schemas
//! grows by hundreds of MB. Each connection is closed after it has served a number of tenants.

use std::collections::HashMap;
use std::sync::Mutex;

/// Counts tenants served per backend.
#[derive(Debug)]
pub(crate) struct Recycler {
    max_uses: u32,
    uses: Mutex<HashMap<i32, u32>>,
}

impl Recycler {
    pub(crate) fn new(max_uses: u32) -> Self {
        Self { max_uses: max_uses.max(1), uses: Mutex::new(HashMap::new()) }
    }

    /// Counts one more tenant on backend `pid`; true when the connection should now be closed.
    pub(crate) fn served(&self, pid: i32) -> bool {
        let Ok(mut uses) = self.uses.lock() else { return false };
        let count = uses.entry(pid).or_insert(0);
        *count += 1;
        if *count >= self.max_uses {
            uses.remove(&pid);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_recycled_after_max_uses() {
        let recycler = Recycler::new(3);
        assert!(!recycler.served(7));
        assert!(!recycler.served(8));
        assert!(!recycler.served(7));
        assert!(recycler.served(7));
        assert!(!recycler.served(7), "a new backend may reuse the pid: counting starts again");
    }
}

//! Crash consistency: a storage backend that loses unsynced writes on a crash.
//!
//! Each case drives a store on [`CrashDisk`] with random commits until the disk "crashes"
//! at a random operation (that operation and every later one fail). The disk then keeps
//! its last synced image plus a random subset, or a random prefix, of the writes made
//! since, as a power cut would. The store must reopen on that image, every commit that
//! returned `Ok` must be there, and the in-flight commit must be there entirely or not
//! at all. Run one case with `PLENUM_CRASH_SEED=n`; `PLENUM_CRASH_CASES=n` sets the
//! number of cases.

use std::collections::BTreeMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};

use super::*;

/// A small deterministic generator (SplitMix64), so every case replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for byte in &mut out {
            *byte = self.next() as u8;
        }
        out
    }
}

/// A write or resize not yet made durable by `sync_data`.
#[derive(Debug, Clone)]
enum Unsynced {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

/// The disk: what survives a power cut (`durable`), what the process sees (`current`),
/// and what lies between.
#[derive(Debug, Default)]
struct Disk {
    durable: Vec<u8>,
    current: Vec<u8>,
    unsynced: Vec<Unsynced>,
    ops: u64,
    crash_at: Option<u64>,
    crashed: bool,
}

impl Disk {
    fn tick(&mut self) -> io::Result<()> {
        if self.crashed {
            return Err(io::Error::other("the disk has crashed"));
        }
        self.ops += 1;
        if self.crash_at == Some(self.ops) {
            self.crashed = true;
            return Err(io::Error::other("the disk crashed"));
        }
        Ok(())
    }

    /// The image after a power cut: the durable image plus some unsynced operations,
    /// in their original order.
    fn survivor(&self, rng: &mut Rng) -> Vec<u8> {
        let kept: Vec<&Unsynced> = if rng.chance(50) {
            let prefix = rng.below(self.unsynced.len() as u64 + 1) as usize;
            self.unsynced.iter().take(prefix).collect()
        } else {
            let percent = [10, 50, 90][rng.below(3) as usize];
            self.unsynced
                .iter()
                .filter(|_| rng.chance(percent))
                .collect()
        };
        let mut image = self.durable.clone();
        for op in kept {
            apply(&mut image, op);
        }
        image
    }
}

fn apply(image: &mut Vec<u8>, op: &Unsynced) {
    match op {
        Unsynced::SetLen(len) => image.resize(*len as usize, 0),
        Unsynced::Write(offset, data) => {
            let (start, end) = (*offset as usize, *offset as usize + data.len());
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].copy_from_slice(data);
        }
    }
}

#[derive(Debug, Clone)]
struct CrashDisk(Arc<Mutex<Disk>>);

impl CrashDisk {
    fn new(image: Vec<u8>, crash_at: Option<u64>) -> CrashDisk {
        CrashDisk(Arc::new(Mutex::new(Disk {
            durable: image.clone(),
            current: image,
            crash_at,
            ..Disk::default()
        })))
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl StorageBackend for CrashDisk {
    fn len(&self) -> io::Result<u64> {
        let mut disk = self.disk();
        disk.tick()?;
        Ok(disk.current.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let start = offset as usize;
        let Some(src) = disk.current.get(start..start + out.len()) else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end",
            ));
        };
        out.copy_from_slice(src);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let op = Unsynced::SetLen(len);
        apply(&mut disk.current, &op);
        disk.unsynced.push(op);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        disk.durable = disk.current.clone();
        disk.unsynced.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let op = Unsynced::Write(offset, data.to_vec());
        apply(&mut disk.current, &op);
        disk.unsynced.push(op);
        Ok(())
    }
}

/// The slots a case writes to: the profile and a small tree of two groups.
struct Universe {
    groups: [GroupId; 2],
    docs: [DocId; 2],
    authors: [MemberId; 2],
}

const SEQS: u64 = 6;

/// A universe slot by index, and the group it belongs to (if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Id {
    Profile,
    Group(usize),
    Doc(usize, usize),
    Author(usize, usize, usize),
    Envelope(usize, usize, usize, u64),
}

impl Id {
    fn group(self) -> Option<usize> {
        match self {
            Id::Profile => None,
            Id::Group(g) | Id::Doc(g, _) | Id::Author(g, _, _) | Id::Envelope(g, _, _, _) => {
                Some(g)
            }
        }
    }
}

impl Universe {
    fn new(rng: &mut Rng) -> Universe {
        Universe {
            groups: [GroupId(rng.array()), GroupId(rng.array())],
            docs: [DocId(rng.array()), DocId(rng.array())],
            authors: [MemberId(rng.array()), MemberId(rng.array())],
        }
    }

    fn all(&self) -> Vec<Id> {
        let mut ids = vec![Id::Profile];
        for g in 0..2 {
            ids.push(Id::Group(g));
            for d in 0..2 {
                ids.push(Id::Doc(g, d));
                for a in 0..2 {
                    ids.push(Id::Author(g, d, a));
                    ids.extend((0..SEQS).map(|s| Id::Envelope(g, d, a, s)));
                }
            }
        }
        ids
    }

    fn slot(&self, id: Id) -> Slot<'_> {
        let (gs, ds, us) = (&self.groups, &self.docs, &self.authors);
        match id {
            Id::Profile => Slot::Profile,
            Id::Group(g) => Slot::Group(&gs[g]),
            Id::Doc(g, d) => Slot::Doc(&gs[g], &ds[d]),
            Id::Author(g, d, a) => Slot::Author(&gs[g], &ds[d], &us[a]),
            Id::Envelope(g, d, a, s) => Slot::Envelope(&gs[g], &ds[d], &us[a], s),
        }
    }
}

type Model = BTreeMap<Id, Vec<u8>>;

/// A random commit of one to three batches, and the model after it.
fn random_commit(
    rng: &mut Rng,
    universe: &Universe,
    before: &Model,
    n: u64,
) -> (Vec<WriteBatch>, Model) {
    let ids = universe.all();
    let mut after = before.clone();
    let mut batches = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let mut batch = WriteBatch::new();
        for op in 0..1 + rng.below(8) {
            let id = ids[rng.below(ids.len() as u64) as usize];
            let roll = rng.below(100);
            if roll < 70 {
                let len = match rng.below(20) {
                    0 => 20_000 + rng.below(40_000),
                    1..=4 => 500 + rng.below(4_500),
                    _ => rng.below(64),
                } as usize;
                let mut value = format!("commit {n} op {op};").into_bytes();
                value.extend((0..len).map(|_| rng.next() as u8));
                batch.put(universe.slot(id), value.clone());
                after.insert(id, value);
            } else if roll < 90 {
                batch.delete(universe.slot(id));
                after.remove(&id);
            } else {
                let g = rng.below(2) as usize;
                batch.delete_group(&universe.groups[g]);
                after.retain(|id, _| id.group() != Some(g));
            }
        }
        batches.push(batch);
    }
    (batches, after)
}

/// Everything the store holds in the universe, checking that the scans agree with it.
fn read_state(store: &Store, universe: &Universe) -> Result<Model, String> {
    let mut state = Model::new();
    for id in universe.all() {
        if let Some(value) = store.get(universe.slot(id)).map_err(|e| e.to_string())? {
            state.insert(id, value);
        }
    }
    let sorted = |mut v: Vec<Vec<u8>>| {
        v.sort();
        v
    };
    let expect = |pred: &dyn Fn(&Id) -> bool| {
        sorted(
            state
                .iter()
                .filter(|(id, _)| pred(id))
                .map(|(_, v)| v.clone())
                .collect(),
        )
    };
    let groups = sorted(store.groups().map_err(|e| e.to_string())?);
    if groups != expect(&|id| matches!(id, Id::Group(_))) {
        return Err("groups() disagrees with get()".into());
    }
    for (g, gid) in universe.groups.iter().enumerate() {
        let docs = sorted(store.docs_of(gid).map_err(|e| e.to_string())?);
        if docs != expect(&|id| matches!(id, Id::Doc(x, _) if *x == g)) {
            return Err(format!("docs_of(group {g}) disagrees with get()"));
        }
        for (d, did) in universe.docs.iter().enumerate() {
            let authors = sorted(store.authors_of(gid, did).map_err(|e| e.to_string())?);
            if authors != expect(&|id| matches!(id, Id::Author(x, y, _) if (*x, *y) == (g, d))) {
                return Err(format!("authors_of({g}, {d}) disagrees with get()"));
            }
            for (a, aid) in universe.authors.iter().enumerate() {
                let envelopes = store
                    .envelopes(gid, did, aid, 0)
                    .map_err(|e| e.to_string())?;
                let expected: Vec<(u64, Vec<u8>)> = (1..SEQS)
                    .filter_map(|s| state.get(&Id::Envelope(g, d, a, s)).map(|v| (s, v.clone())))
                    .collect();
                if envelopes != expected {
                    return Err(format!("envelopes({g}, {d}, {a}) disagrees with get()"));
                }
            }
        }
    }
    Ok(state)
}

/// How a case ended, for the summary.
#[derive(Debug, Default)]
struct Tally {
    crashed_creating: u64,
    no_database_left: u64,
    crashed_committing: u64,
    in_flight_applied: u64,
    not_crashed: u64,
}

/// Operations a case performs, so that crash points cover creation and every commit.
const MAX_OPS: u64 = 120;

fn run_case(seed: u64, tally: &mut Tally) -> Result<(), String> {
    let mut rng = Rng(seed);
    let key = SecretKey::from_bytes(rng.array());
    let universe = Universe::new(&mut rng);
    let disk = CrashDisk::new(Vec::new(), Some(1 + rng.below(MAX_OPS)));
    let mut acked = Model::new();
    let mut in_flight = None;
    let mut created = false;
    if let Ok(store) = Store::with_backend(disk.clone(), key.clone()) {
        created = true;
        for n in 0..1 + rng.below(12) {
            let (batches, next) = random_commit(&mut rng, &universe, &acked, n);
            match store.commit(&batches) {
                Ok(()) => acked = next,
                Err(_) => {
                    in_flight = Some(next);
                    break;
                }
            }
        }
        // Power off: whatever the store does on drop cannot reach the disk.
        disk.disk().crashed = true;
        drop(store);
    }
    let crashed_at = {
        let state = disk.disk();
        state.crash_at.filter(|at| *at <= state.ops)
    };
    match (created, crashed_at) {
        (false, _) => tally.crashed_creating += 1,
        (true, Some(_)) => tally.crashed_committing += 1,
        (true, None) => tally.not_crashed += 1,
    }
    let image = disk.disk().survivor(&mut rng);

    let store = match Store::with_backend(CrashDisk::new(image, None), key) {
        Ok(store) => store,
        // A crash before redb wrote its magic number leaves no database at all; that is
        // the only failure allowed, and only when creation never finished.
        Err(StoreError::Corrupt { ref detail, .. })
            if !created && detail.contains("magic number") =>
        {
            tally.no_database_left += 1;
            return Ok(());
        }
        Err(err) => return Err(format!("the store did not reopen: {err}")),
    };
    if store.schema_version().map_err(|e| e.to_string())? != schema::SCHEMA_VERSION {
        return Err("the schema was not brought up to date".into());
    }
    let state = read_state(&store, &universe)?;
    if state != acked {
        if in_flight.as_ref() == Some(&state) {
            tally.in_flight_applied += 1;
        } else {
            let missing: Vec<&Id> = acked
                .keys()
                .filter(|id| state.get(id) != acked.get(id))
                .collect();
            return Err(format!(
                "the state after the crash is neither the acknowledged one nor the in-flight commit \
                 applied whole; slots differing from the acknowledged state: {missing:?}"
            ));
        }
    }
    // The recovered store takes new writes.
    let (batches, next) = random_commit(&mut rng, &universe, &state, 99);
    store
        .commit(&batches)
        .map_err(|e| format!("commit after recovery: {e}"))?;
    if read_state(&store, &universe)? != next {
        return Err("a commit after recovery was not applied".into());
    }
    Ok(())
}

#[test]
fn acknowledged_commits_survive_crashes_and_commits_are_atomic() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seeds: Vec<u64> = match env("PLENUM_CRASH_SEED") {
        Some(seed) => vec![seed],
        None => (0..env("PLENUM_CRASH_CASES").unwrap_or(1000)).collect(),
    };
    let mut tally = Tally::default();
    for seed in seeds {
        let outcome = catch_unwind(AssertUnwindSafe(|| run_case(seed, &mut tally)));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(message)) => panic!("crash case failed (PLENUM_CRASH_SEED={seed}): {message}"),
            Err(_) => panic!("crash case panicked (PLENUM_CRASH_SEED={seed})"),
        }
    }
    println!("{tally:?}");
    // The cases must exercise crashes in commits, not only before or after them.
    if env("PLENUM_CRASH_SEED").is_none() {
        assert!(tally.crashed_committing > 100, "{tally:?}");
        assert!(tally.not_crashed > 10, "{tally:?}");
    }
}

//! The `automerge-paper` editing trace (`benches/data/`, see ATTRIBUTION.md), shared by
//! the engine and network benchmarks.

use std::io::Read;

use plenum_core::api::Request;
use plenum_core::docs::Splice;

/// An editing trace.
pub(crate) struct Trace {
    /// Per transaction, its splices: (position, deleted, inserted).
    pub(crate) txns: Vec<Vec<(usize, usize, String)>>,
    /// The text after the last transaction.
    pub(crate) end: String,
}

pub(crate) fn load() -> Trace {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/automerge-paper.json.gz"
    );
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("trace file"))
        .read_to_string(&mut json)
        .expect("gunzip");
    let value: serde_json::Value = serde_json::from_str(&json).expect("trace json");
    let txns = value["txns"]
        .as_array()
        .expect("txns")
        .iter()
        .map(|t| {
            t["patches"]
                .as_array()
                .expect("patches")
                .iter()
                .map(|p| {
                    let pos = p[0].as_u64().expect("pos") as usize;
                    let del = p[1].as_u64().expect("del") as usize;
                    (pos, del, p[2].as_str().expect("ins").to_owned())
                })
                .collect()
        })
        .collect();
    Trace {
        txns,
        end: value["endContent"].as_str().expect("end").to_owned(),
    }
}

impl Trace {
    /// One `PadSplice` request per transaction, without heads (each applies on top of
    /// the previous, as an editor's in-order WebSocket sends them).
    pub(crate) fn requests<'a>(
        &'a self,
        group: &'a str,
        pad: &'a str,
    ) -> impl Iterator<Item = Request> + 'a {
        self.txns.iter().map(move |txn| Request::PadSplice {
            group: group.to_owned(),
            pad: pad.to_owned(),
            heads: Vec::new(),
            splices: txn
                .iter()
                .map(|(pos, del, ins)| Splice {
                    pos: *pos,
                    delete: *del,
                    insert: ins.clone(),
                })
                .collect(),
        })
    }
}

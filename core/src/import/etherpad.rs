//! etherpad (being written).

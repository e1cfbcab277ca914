//! trello (being written).

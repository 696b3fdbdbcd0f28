//! Rackscope importer for netbox (work in progress).

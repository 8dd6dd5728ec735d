//! All integration tests, compiled into one test binary.

#![expect(clippy::expect_used, reason = "a test that cannot read its own inputs should fail loudly")]

mod corpus;

//! The M-PESA rail's pay-in protocols against the sandbox over loopback: the
//! requests the rail builds are the ones the simulators accept, and the rail
//! reads every answer and callback they send, for each way a payer answers.

mod checkout;
mod express;
mod harness;

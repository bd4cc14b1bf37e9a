//! Faithful local simulators of the providers (Alipay, M-PESA Daraja, the ledger, FX rates). Arrives with its own issue.

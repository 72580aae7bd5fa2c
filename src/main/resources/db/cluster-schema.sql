-- camel-mlops cluster mode: the tables every instance shares (PostgreSQL). The application runs
-- this script at start-up (idempotent: IF NOT EXISTS), under an advisory lock; Quartz's own
-- tables come from Quartz's script (org/quartz/impl/jdbcjobstore/tables_postgres.sql in its jar).

-- Accepted batches of new labelled images, with their pixels: pending -> claimed by a run ->
-- consumed, or back to pending when the run was abandoned or its instance died.
CREATE TABLE IF NOT EXISTS mlops_batches (
    sha256       CHAR(64)    PRIMARY KEY,
    source       TEXT        NOT NULL,
    received     TIMESTAMPTZ NOT NULL DEFAULT now(),
    received_by  TEXT        NOT NULL,
    images       INTEGER     NOT NULL,
    rows         INTEGER     NOT NULL,
    cols         INTEGER     NOT NULL,
    pixels_gz    BYTEA       NOT NULL,
    labels       BYTEA       NOT NULL,
    state        TEXT        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'consumed')),
    run_id       TEXT,
    claimed_at   TIMESTAMPTZ,
    consumed_at  TIMESTAMPTZ
);
-- Added with datasets other than Fashion-MNIST (RGB images): 1 for grey.
ALTER TABLE mlops_batches ADD COLUMN IF NOT EXISTS channels INTEGER NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS mlops_batches_state ON mlops_batches (state);
CREATE INDEX IF NOT EXISTS mlops_batches_run ON mlops_batches (run_id);

-- The run ledger: one row per run, its "started" record merged with its "finished" one.
CREATE TABLE IF NOT EXISTS mlops_runs (
    seq        BIGSERIAL   UNIQUE,
    id         TEXT        PRIMARY KEY,
    instance   TEXT        NOT NULL,
    started    TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished   TIMESTAMPTZ,
    outcome    TEXT,
    record     JSONB       NOT NULL
);

-- The inbox's file locks (camel-sql's JdbcOrphanLockAwareIdempotentRepository): a row per file
-- being read, its time stamp renewed while the instance reading it lives.
CREATE TABLE IF NOT EXISTS CAMEL_MESSAGEPROCESSED (
    processorName VARCHAR(255)  NOT NULL,
    messageId     VARCHAR(2000) NOT NULL,
    createdAt     TIMESTAMP     NOT NULL,
    PRIMARY KEY (processorName, messageId)
);

-- Signing in to the web pages. A person with a login signs in with it and
-- a secret: a PIN for a worker (issued by the center manager), a password
-- for anyone else. The secret is kept only as a salted PBKDF2 hash. lang
-- is the language the person last chose, so it follows them from one
-- shared PC to the next.
CREATE TABLE credentials (
    user_id     TEXT PRIMARY KEY REFERENCES users (id),
    login       TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    lang        TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX credentials_login ON credentials (login);

-- A browser's session: the cookie holds a random secret, the table its
-- SHA-256. csrf is the token every form of the session carries.
CREATE TABLE web_sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- A worker's unsent answer, saved as they type, so a power cut or a
-- closed tab loses nothing.
CREATE TABLE drafts (
    assignment_id TEXT PRIMARY KEY,
    worker_id     TEXT NOT NULL REFERENCES users (id),
    body          TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- The organisation's chat: messages written by its users, filed under a shared category.
CREATE TABLE chat_messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id   bigint NOT NULL REFERENCES org_users (id),
    category_id integer REFERENCES public.categories (id),
    body        text NOT NULL CHECK (length(body) > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chat_messages_author_created_idx ON chat_messages (author_id, created_at DESC);
CREATE INDEX chat_messages_category_idx ON chat_messages (category_id) WHERE category_id IS NOT NULL;

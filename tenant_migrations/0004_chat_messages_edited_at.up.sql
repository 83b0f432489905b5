-- Messages can be edited: a nullable column without a default is a metadata-only change.
ALTER TABLE chat_messages ADD COLUMN edited_at timestamptz;

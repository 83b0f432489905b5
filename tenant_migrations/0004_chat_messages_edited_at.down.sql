ALTER TABLE chat_messages DROP COLUMN edited_at;

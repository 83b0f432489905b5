-- tenantctl:allow drop-table reason="reverts 0003_chat_messages, which created it"
DROP TABLE chat_messages;

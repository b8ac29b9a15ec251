/** Size limits of the wire messages, as plain data (the agent reads them without the schemas; messages.ts re-exports). */
import type { TopicKind } from './topics.ts';

/** Largest chunk of attachment bytes in one message (before base64). */
export const ATTACHMENT_CHUNK_BYTES = 256 * 1024;

/** Byte limits per kind, checked before parsing (and after serialising). */
export const MAX_BYTES: Record<TopicKind, number> = {
  presence: 256 * 1024,
  heartbeat: 16 * 1024,
  health: 64 * 1024,
  event: 8 * 1024,
  reply: 64 * 1024,
  attachment: 400 * 1024,
  cmd: 8 * 1024,
};

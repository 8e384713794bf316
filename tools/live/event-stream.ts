/** One Server-Sent Event as a client sees it (`message` when the stream names no type). */
export interface StreamEvent {
  type: string;
  id?: string;
  data: string;
}

/**
 * Reads a text/event-stream body into events, as EventSource does: blocks end at a blank line,
 * comments are skipped, an event without data is not dispatched (its id still counts, passed to
 * `onId`).
 */
export async function* readEventStream(
  body: AsyncIterable<Uint8Array>,
  onId: (id: string) => void = () => undefined,
): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const parsed = parseEventBlock(block);
      if (parsed.id !== undefined) onId(parsed.id);
      if (parsed.data === undefined) continue;
      yield { type: parsed.type, data: parsed.data, ...(parsed.id !== undefined ? { id: parsed.id } : {}) };
    }
  }
}

/** One block of a text/event-stream (the lines up to a blank one), read as EventSource reads it. */
export interface EventBlock {
  /** `message` when the block names no type. */
  type: string;
  id?: string;
  retry?: number;
  /** The data lines joined; undefined without any (EventSource then dispatches no event). */
  data?: string;
  /** The comment lines (`: …`), trimmed. */
  comments: string[];
  /** Whether any line was a field (not a comment). */
  hasFields: boolean;
}

export function parseEventBlock(block: string): EventBlock {
  const parsed: EventBlock = { type: 'message', comments: [], hasFields: false };
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '') continue;
    if (line.startsWith(':')) {
      parsed.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') parsed.type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') parsed.id = value;
    else if (field === 'retry') parsed.retry = Number(value);
    parsed.hasFields = true;
  }
  if (data.length > 0) parsed.data = data.join('\n');
  return parsed;
}

/** One line per event for a terminal: the time, the type, and what it says. */
export function describeEvent(event: StreamEvent, now = new Date()): string {
  const time = now.toISOString().slice(11, 19);
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(event.data) as Record<string, unknown>;
  } catch {
    return `${time}  ${event.type}  ${event.data}`;
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  switch (event.type) {
    case 'message':
      return `${time}  message        @${text(data.handle)}: ${text(data.message)}  (${text(data.message_group_uuid)})`;
    case 'message_group':
      return `${time}  message_group  with @${text(data.handle)}: ${text(data.message)}  unread ${text(data.unread_count)}  (${text(data.uuid)})`;
    case 'read':
      return data.other_last_read_at !== undefined
        ? `${time}  read           seen up to ${text(data.other_last_read_at)}  (${text(data.message_group_uuid)})`
        : `${time}  read           unread ${text(data.unread_count)}  (${text(data.message_group_uuid)})`;
    default:
      return `${time}  ${event.type}  ${event.data}`;
  }
}

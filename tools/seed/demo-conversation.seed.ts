import { randomUUID } from 'node:crypto';
import type { MessageItem, MessagesRepository, UserRef } from '../../src/dynamodb/messages.repository.js';
import { ConversationListProjector } from '../../src/stream/conversation-list.projector.js';
import { formatTimestamp, nowMicros, type Micros } from '../../src/dynamodb/timestamp.js';

export interface SeededConversation {
  /** False when a conversation between the two already existed: nothing was written. */
  created: boolean;
  message_group_uuid: string;
  /** Messages written (0 when the conversation already existed). */
  messages: number;
}

const MINUTE: Micros = 60_000_000;

/** Who says what: `a` opens, then they alternate. */
const LINES: readonly string[] = [
  "Have you ever watched Babylon 5? It's one of my favourite TV shows!",
  'Yes, I have! I love it too. Which season do you like best?',
  'Season 3, I think. "Severed Dreams" and "War Without End" are just fantastic.',
  'Season 3 was amazing. I also loved season 4, once the Shadow War really heats up.',
  'The war arc is so well built. Every small thread from the first seasons pays off.',
  "And the characters! G'Kar and Londo might be the best pair of rivals on television.",
  "Agreed. G'Kar's arc from angry ambassador to reluctant prophet gets me every time.",
  "Londo's is the tragic one though. You know where he ends up from the very first season.",
  'That prophecy hangs over everything. The show was planned as a five-year novel for television.',
  'Which was rare back then. Most shows made it up week by week.',
  'Did you like Sheridan more than Sinclair as the commander of the station?',
  'Sinclair had more mystery, but Sheridan fit the war story better. Both worked for me.',
  'Fair. And Delenn with Sheridan is one of the few TV romances I actually believed.',
  'Same. "Comes the Inquisitor" is probably my favourite Delenn episode.',
  'Oh, that one is brutal. Wayne Alexander as Sebastian was so unsettling.',
  'What did you think of the effects? They look dated now, but they were groundbreaking.',
  'I still like them. CGI space battles on a TV budget in 1994 was wild.',
  'Season 5 felt a bit slower to me after the big finale of season 4.',
  'A little, but "Sleeping in Light" makes up for all of it. Best series finale ever.',
  'I cried at the end of it. Turning off the lights on the station, one by one.',
  'Me too. Have you tried the spin-off, Crusade? It was cancelled far too early.',
  'I watched it once. It had potential, and the Excalibur was a great ship.',
  'We should do a rewatch together, one episode a week?',
  'Deal! Let\'s start with "The Gathering" next Friday.',
];

/**
 * Writes the demo users' long conversation (a opens, then they alternate), one minute apart and
 * ending a minute before `now`: both member items, every message item, then both members' list
 * items through the projector (as the stream would), so an interrupted run is redone on the next
 * one. Does nothing when `a` already has a conversation with `b`.
 */
export async function seedDemoConversation(
  repo: MessagesRepository,
  a: UserRef,
  b: UserRef,
  options: { now?: Micros } = {},
): Promise<SeededConversation> {
  const existing = await repo.findConversationWith(a.uuid, b.uuid);
  if (existing) return { created: false, message_group_uuid: existing.message_group_uuid, messages: 0 };

  const message_group_uuid = randomUUID();
  const now = options.now ?? nowMicros();
  for (const [owner, other] of [
    [a, b],
    [b, a],
  ]) {
    await repo.putMember({
      message_group_uuid,
      owner_user_uuid: owner.uuid,
      user_uuid: other.uuid,
      user_display_name: other.display_name,
      user_handle: other.handle,
    });
  }
  let last: MessageItem | undefined;
  for (const [i, message] of LINES.entries()) {
    last = await repo.putMessage({
      message_group_uuid,
      message,
      sender: i % 2 === 0 ? a : b,
      created_at: formatTimestamp(now - (LINES.length - i) * MINUTE),
    });
  }
  await new ConversationListProjector(repo).project(last!);
  return { created: true, message_group_uuid, messages: LINES.length };
}

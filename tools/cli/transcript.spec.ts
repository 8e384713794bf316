import { describe, expect, it } from '@jest/globals';
import type { MessageItem } from '../../src/dynamodb/messages.repository.js';
import { formatMessageTime, previewMessage, transcriptLines } from './transcript.js';

function message(user_handle: string, created_at: string, text: string): MessageItem {
  return { message_group_uuid: 'g', created_at, message_uuid: 'm', message: text, user_uuid: 'u', user_display_name: 'U', user_handle };
}

describe('transcript', () => {
  it('shows a timestamp in UTC with a 12-hour clock', () => {
    expect(formatMessageTime('2023-03-28T20:43:11.141577+00:00')).toBe('2023-03-28 08:43 PM');
    expect(formatMessageTime('2023-03-28T00:05:00.000000+00:00')).toBe('2023-03-28 12:05 AM');
    expect(formatMessageTime('2023-03-28T12:00:59+00:00')).toBe('2023-03-28 12:00 PM');
  });

  it('reads the older tools’ timestamps as UTC and shows anything else verbatim', () => {
    expect(formatMessageTime('2023-04-05T18:27:02.123456')).toBe('2023-04-05 06:27 PM');
    expect(formatMessageTime('not-a-time')).toBe('not-a-time');
  });

  it('shows a timestamp written with a local offset in UTC', () => {
    expect(formatMessageTime('2023-03-28T16:02:11.141577-05:00')).toBe('2023-03-28 09:02 PM');
    expect(formatMessageTime('2023-03-29T06:05:00+09:00')).toBe('2023-03-28 09:05 PM');
    expect(formatMessageTime('2023-03-29T02:36:00+05:30')).toBe('2023-03-28 09:06 PM');
    expect(formatMessageTime('2023-12-31T20:00:00-05:00')).toBe('2024-01-01 01:00 AM');
  });

  it('cuts a message at 40 characters, adding ... only when cut', () => {
    expect(previewMessage('a'.repeat(40))).toBe('a'.repeat(40));
    expect(previewMessage('b'.repeat(41))).toBe(`${'b'.repeat(40)}...`);
    expect(previewMessage(`${'😀'.repeat(41)}`)).toBe(`${'😀'.repeat(40)}...`);
  });

  it('keeps one message on one line', () => {
    expect(previewMessage('line one\nline  two\t')).toBe('line one line two');
  });

  it('prints handle, time and preview, handles aligned', () => {
    const lines = transcriptLines([
      message('andrewbrown', '2023-03-28T20:43:00.000000+00:00', 'Have you ever watched Babylon 5? It is one of my favourites'),
      message('bayko', '2023-03-28T20:44:00.000000+00:00', 'Yes!'),
    ]);

    expect(lines).toEqual([
      'andrewbrown  2023-03-28 08:43 PM  Have you ever watched Babylon 5? It is o...',
      'bayko        2023-03-28 08:44 PM  Yes!',
    ]);
  });
});

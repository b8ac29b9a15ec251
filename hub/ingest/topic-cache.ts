/**
 * `parseTopic`, remembered per topic string: an agent publishes on the same few topics (one per device and kind)
 * thousands of times, so each is split and checked once, not on every message. Only valid topics are kept (a bad
 * one throws every time, with the same error), and at most MAX_TOPICS of them (then the cache starts over), so a
 * client inventing topics cannot grow it without bound.
 */
import { type ParsedTopic, parseTopic } from '../../protocols/topics.ts';

export const MAX_TOPICS = 100_000;

export class TopicCache {
  private readonly parsed = new Map<string, Readonly<ParsedTopic>>();

  parse(topic: string): Readonly<ParsedTopic> {
    let parsed = this.parsed.get(topic);
    if (parsed === undefined) {
      parsed = Object.freeze(parseTopic(topic));
      if (this.parsed.size >= MAX_TOPICS) this.parsed.clear();
      this.parsed.set(topic, parsed);
    }
    return parsed;
  }
}

/**
 * Response schemas of the ticket routes: fastify serialises the answers with them (fast-json-stringify, compiled
 * once, instead of JSON.stringify per response) and `/api/openapi.json` documents them (hub/people/openapi.ts).
 * Objects keep `additionalProperties: true`, so a field added to a view later is never dropped.
 */
import { TICKET_VIEW_SCHEMA } from './list-page.ts';

const nullableString = { type: ['string', 'null'] };

/**
 * `{error, code}` (and `details` for validation errors), for every 4xx and 5xx answer. Nothing `required`: an
 * error fastify raises itself (a body that is not JSON) has its own shape, and a missing required property would
 * make the serialiser throw (a 500 instead of the 400).
 */
export const ERROR_SCHEMA = {
  type: 'object',
  additionalProperties: true,
  properties: { error: { type: 'string' }, code: { type: 'string' } },
} as const;

/** TicketWithHistory (hub/tickets/service.ts): the view, its history, and `linkedTo` when a report joined it. */
export const TICKET_WITH_HISTORY_SCHEMA = {
  ...TICKET_VIEW_SCHEMA,
  required: [...TICKET_VIEW_SCHEMA.required, 'history'],
  properties: {
    ...TICKET_VIEW_SCHEMA.properties,
    linkedTo: { type: 'string' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        required: ['at', 'to', 'actor', 'note'],
        properties: {
          at: { type: 'string' },
          from: nullableString,
          to: { type: 'string' },
          actor: { type: 'string' },
          note: { type: 'string' },
          kind: { type: 'string' },
        },
      },
    },
  },
} as const;

const errors = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA };

/** `schema.response` of each ticket route. */
export const TICKET_RESPONSES = {
  list: { 200: { type: 'array', items: TICKET_VIEW_SCHEMA }, ...errors },
  one: { 200: TICKET_WITH_HISTORY_SCHEMA, ...errors },
  created: { 200: TICKET_WITH_HISTORY_SCHEMA, 201: TICKET_WITH_HISTORY_SCHEMA, ...errors },
} as const;

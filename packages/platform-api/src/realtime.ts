import { z } from 'zod';
import { PLATFORM_EVENT_TYPES, type PlatformEventType } from './events.js';

/**
 * What a platform publication carries besides its payload: the fields the
 * event changed, who did it, and the correlation id of the HTTP request.
 */
export const PlatformEventMetaSchema = z.looseObject({
  changed_fields: z.array(z.string()),
  user_id: z.string().nullable(),
  correlation_id: z.string().nullable(),
});
export type PlatformEventMeta = z.infer<typeof PlatformEventMetaSchema>;

/** A realtime publication of the platform, as a client receives it. */
export const PlatformPublicationSchema = z.object({
  event_type: z.enum(PLATFORM_EVENT_TYPES as [PlatformEventType, ...PlatformEventType[]]),
  /** `{ id, …the fields a viewer may see }` of the entity. */
  payload: z.looseObject({ id: z.string() }),
  meta: PlatformEventMetaSchema,
});
export type PlatformPublication = z.infer<typeof PlatformPublicationSchema>;

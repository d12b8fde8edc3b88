import { z } from 'zod';
import { CITIZEN_ID } from '../shared/citizen.js';
import type { TransferDocument } from './transfers.table.js';

/** The limits of a transfer's contents (tuning.transfers). */
export interface TransferLimits {
  /** Production: documents must be https. */
  httpsOnly: boolean;
  maxDocuments: number;
  maxUrlLength: number;
}

export const citizenName = z.string().trim().min(1).max(200);
export const citizenEmail = z.email().max(254);
const title = z.string().trim().min(1).max(200);

/** A document's or callback's URL: http(s) (https only in production), at most the limit. */
export function peerUrl(limits: TransferLimits) {
  return z
    .string()
    .trim()
    .max(limits.maxUrlLength)
    .pipe(
      z.url({
        protocol: limits.httpsOnly ? /^https$/ : /^https?$/,
        error: limits.httpsOnly ? 'must be an https URL' : 'must be an http(s) URL',
      }),
    );
}

/** Documents as our API takes them: `[{title, url}]`. */
export function documentList(limits: TransferLimits) {
  return z
    .array(z.strictObject({ title, url: peerUrl(limits) }))
    .max(limits.maxDocuments)
    .default([]);
}

/**
 * Documents as peers send them (interop.md §3): `{title: [url]}` (the convention), `{title: url}`,
 * a plain array of URLs, or `[{title, url}]`; read into `[{title, url}]`, at most the limit.
 */
export function peerDocuments(limits: TransferLimits) {
  const url = peerUrl(limits);
  return z
    .union([
      z.record(title, z.union([url, z.array(url)])),
      z.array(url),
      z.array(z.object({ title, url })),
    ])
    .transform((value): TransferDocument[] => {
      if (!Array.isArray(value)) {
        return Object.entries(value).flatMap(([t, urls]) =>
          (Array.isArray(urls) ? urls : [urls]).map((u) => ({ title: t, url: u })),
        );
      }
      return value.map((d, i) =>
        typeof d === 'string' ? { title: `Documento ${i + 1}`, url: d } : d,
      );
    })
    .refine((docs) => docs.length <= limits.maxDocuments, {
      message: `at most ${limits.maxDocuments} documents`,
    });
}

/** A citizen id as peers send it: a number or a string of digits (6 to 12). */
export const peerCitizenId = z
  .union([z.number().int().nonnegative(), z.string().trim()])
  .transform(String)
  .pipe(z.string().regex(CITIZEN_ID, 'must be 6 to 12 digits'));

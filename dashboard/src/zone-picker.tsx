/**
 * A searchable zone picker (ARIA combobox with a listbox): typing filters the zones (prefix matches first), arrows move,
 * Enter picks, Escape closes. Only the first MAX_SHOWN matches are in the DOM, so hundreds of zones stay instant.
 */
import { useMemo, useState } from "preact/hooks";
import { searchZones, type DnsZone } from "./model";

const MAX_SHOWN = 50;

export function ZonePicker({
  zones,
  value,
  onPick,
  error,
}: {
  zones: DnsZone[];
  value: string;
  onPick: (zone: string) => void;
  error?: string;
}) {
  const [query, setQuery] = useState(value);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const shown = useMemo(() => searchZones(zones, query === value ? "" : query, MAX_SHOWN), [zones, query, value]);
  const pick = (z: DnsZone) => {
    onPick(z.name);
    setQuery(z.name);
    setOpen(false);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, shown.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === "Enter") {
      if (open && shown[active]) {
        e.preventDefault();
        pick(shown[active]);
      }
    } else if (e.key === "Escape") {
      setOpen(false);
    }
  };
  return (
    <div class="combo">
      <label for="zone-input">DNS zone</label>
      <input
        id="zone-input"
        role="combobox"
        aria-expanded={open}
        aria-controls="zone-list"
        aria-autocomplete="list"
        aria-activedescendant={open && shown[active] ? `zone-opt-${active}` : undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "zone-error" : undefined}
        autocomplete="off"
        value={query}
        placeholder={`search ${zones.length} zones`}
        onInput={(e) => {
          setQuery(e.currentTarget.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKey}
      />
      {open ? (
        <ul id="zone-list" role="listbox" aria-label="Zones">
          {shown.length === 0 ? <li class="empty">no zone matches</li> : null}
          {shown.map((z, i) => (
            <li
              key={z.name}
              id={`zone-opt-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? "active" : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(z);
              }}
            >
              {z.name} <small>{z.provider}</small>
            </li>
          ))}
        </ul>
      ) : null}
      {error ? (
        <p id="zone-error" class="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

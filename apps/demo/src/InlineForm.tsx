import type { FormEvent } from 'react';

/** One text field and its button, as the side panels use them. */
export function InlineForm(props: {
  label: string;
  placeholder: string;
  value: string;
  maxLength: number;
  button: string;
  onChange: (value: string) => void;
  onSubmit: () => Promise<void>;
}) {
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void props.onSubmit();
  };
  return (
    <form className="event-form" onSubmit={submit}>
      <input
        aria-label={props.label}
        placeholder={props.placeholder}
        value={props.value}
        maxLength={props.maxLength}
        onChange={(e) => props.onChange(e.target.value)}
      />
      <button type="submit">{props.button}</button>
    </form>
  );
}
